import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { Qcow2Image } from '../../engine/qcow2';
import { backupImage } from '../../engine/backup';
import { openDiskImage } from '../../engine/source/open-image';
import { parseImageFormat } from '../../engine/source/image-format';
import { collectTag } from '../args';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { backupScalewayBlock, isScalewayBlockUrl, type ScalewayFlags } from './scaleway';
import { backupScalewayInstance, isScalewayInstanceUrl } from './scaleway-instance';

interface BackupFlags extends RepoFlags, ScalewayFlags {
  tag?: Record<string, string>;
  host?: string;
  keepNativeSnapshot?: boolean;
  format?: string;
  via?: string;
}

/** Why the disk was read as it was, in the CLI's terms (docs/QCOW2.md "Which format a backup reads"). */
function formatReasonText(format: string, reason: unknown): string {
  switch (reason) {
    case 'option': return `--format ${format}`;
    case 'file-name': return 'named .qcow2';
    case 'default': return 'not named .qcow2 and no --format given';
    default: return String(reason);
  }
}

export function registerBackup(program: Command): void {
  commonOptions(program.command('backup'))
    .description('back up a disk image (raw or QCOW2: the guest disk is stored, not the container)')
    .argument('<file>', 'disk image to back up, scaleway-block://ZONE/VOLUME_ID, or scaleway-instance://ZONE/SERVER_ID (every volume)')
    .option('--format <format>', 'raw or qcow2: what the file is (default: qcow2 if its name ends in .qcow2, else raw; never guessed from the content)')
    .option('--tag <key=value>', 'label the snapshot (repeatable), e.g. environment=production', collectTag)
    .option('--host <name>', 'host name to record (default: this machine)')
    .option('--bucket <name>', 'Scaleway volumes: staging bucket for the export (else SCW_BACKUP_BUCKET)')
    .option('--staging-prefix <prefix>', 'Scaleway volumes: key prefix in the staging bucket', 'scw-backup')
    .option('--keep-native-snapshot', 'Scaleway volumes: keep the Scaleway snapshot after the backup')
    .option('--via <path>', 'Scaleway Block volumes: export (through the staging bucket, up to 1 TB), attach (attached to this Instance and read directly, any size), or auto (the default: export unless the volume is over 1 TB and this is an Instance of its zone)')
    .action(async (file: string, flags: BackupFlags, cmd: Command) => {
      const format = flags.format === undefined ? undefined : parseImageFormat('--format', flags.format);
      if (isScalewayBlockUrl(file) || isScalewayInstanceUrl(file)) {
        if (format !== undefined) throw new InvalidInputError('--format', 'is for local files; a Scaleway volume is always read from its QCOW2 export');
        return isScalewayBlockUrl(file) ? backupScalewayBlock(cmd, file, flags) : backupScalewayInstance(cmd, file, flags);
      }
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const source = await openDiskImage(file, { format, onWarning: (m) => out.warning(m) });
      try {
        const snap = await backupImage(repo, source, { tags: flags.tag, hostname: flags.host, onProgress: out.progress(), signal: interruptSignal(), onWarning: (m) => out.warning(m) });
        out.endProgress();
        const s = snap.stats;
        const { format: read, formatReason } = snap.source;
        out.text(`snapshot ${snap.id.slice(0, 12)} saved: ${formatBytes(snap.size)} disk read as ${read} (${formatReasonText(read, formatReason)}), ` +
          `${formatBytes(s.bytesRead)} read, ${formatBytes(s.holeBytes)} holes, ${formatBytes(s.bytesNew)} new, ` +
          `${formatBytes(s.bytesStored)} stored, ${(s.durationMs / 1000).toFixed(1)} s`);
        // For a QCOW2, how many bytes of the file were read (allocated clusters and metadata only).
        const container = source instanceof Qcow2Image ? { containerBytesRead: source.stats.bytesRead } : {};
        out.summary('backup', { snapshotId: snap.id, size: snap.size, format: read, formatReason, tags: snap.tags, ...s, ...container });
      } finally {
        await source.close();
      }
    });
}
