import type { Command } from 'commander';
import { Qcow2Image, backupImage, openDiskImage } from '../../engine';
import { collectTag } from '../args';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { Output, formatBytes } from '../output';
import { backupScalewayBlock, isScalewayBlockUrl, type ScalewayFlags } from './scaleway';
import { backupScalewayInstance, isScalewayInstanceUrl } from './scaleway-instance';

interface BackupFlags extends RepoFlags, ScalewayFlags {
  tag?: Record<string, string>;
  host?: string;
  keepNativeSnapshot?: boolean;
}

export function registerBackup(program: Command): void {
  commonOptions(program.command('backup'))
    .description('back up a disk image (raw or QCOW2: the guest disk is stored, not the container)')
    .argument('<file>', 'disk image to back up, scaleway-block://ZONE/VOLUME_ID, or scaleway-instance://ZONE/SERVER_ID (every volume)')
    .option('--tag <key=value>', 'label the snapshot (repeatable), e.g. environment=production', collectTag)
    .option('--host <name>', 'host name to record (default: this machine)')
    .option('--bucket <name>', 'Scaleway volumes: staging bucket for the export (else SCW_BACKUP_BUCKET)')
    .option('--staging-prefix <prefix>', 'Scaleway volumes: key prefix in the staging bucket', 'scw-backup')
    .option('--keep-native-snapshot', 'Scaleway volumes: keep the Scaleway snapshot after the backup')
    .action(async (file: string, flags: BackupFlags, cmd: Command) => {
      if (isScalewayBlockUrl(file)) return backupScalewayBlock(cmd, file, flags);
      if (isScalewayInstanceUrl(file)) return backupScalewayInstance(cmd, file, flags);
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const source = await openDiskImage(file, { onWarning: (m) => out.warning(m) });
      try {
        const snap = await backupImage(repo, source, { tags: flags.tag, hostname: flags.host, onProgress: out.progress() });
        out.endProgress();
        const s = snap.stats;
        out.text(`snapshot ${snap.id.slice(0, 12)} saved: ${formatBytes(snap.size)} disk (${snap.source.format}), ` +
          `${formatBytes(s.bytesRead)} read, ${formatBytes(s.holeBytes)} holes, ${formatBytes(s.bytesNew)} new, ` +
          `${formatBytes(s.bytesStored)} stored, ${(s.durationMs / 1000).toFixed(1)} s`);
        // For a QCOW2, how many bytes of the file were read (allocated clusters and metadata only).
        const container = source instanceof Qcow2Image ? { containerBytesRead: source.stats.bytesRead } : {};
        out.summary('backup', { snapshotId: snap.id, size: snap.size, format: snap.source.format, tags: snap.tags, ...s, ...container });
      } finally {
        await source.close();
      }
    });
}
