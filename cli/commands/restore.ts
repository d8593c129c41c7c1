import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { parseImageFormat } from '../../engine/source/image-format';
import { restoreImage } from '../../engine/restore';
import { restoreQcow2 } from '../../engine/restore-qcow2';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { SNAPSHOT_ARGUMENT, filterFrom, filterOptions, resolveSnapshot, type FilterFlags } from '../snapshot-filter';
import { isInstanceGroup } from '../../engine/scaleway/instance-group';
import { restoreScalewayBlock, type ScalewayFlags } from './scaleway';
import { isScalewayInstanceUrl, restoreScalewayInstance } from './scaleway-instance';

interface RestoreFlags extends RepoFlags, ScalewayFlags, FilterFlags {
  target?: string;
  to?: string;
  name?: string;
  attach?: string;
  replace?: string;
  size?: string;
  via?: string;
  perfIops?: string;
  overwrite?: boolean;
  format: string;
  newServer?: string;
  stopServer?: boolean;
  commercialType?: string;
  /** false with --no-lock */
  lock: boolean;
}

export function registerRestore(program: Command): void {
  filterOptions(commonOptions(program.command('restore'))
    .description('restore a snapshot to a disk image file (sparse: holes are not written)')
    .argument('<snapshot>', SNAPSHOT_ARGUMENT), 'with "latest": snapshots')
    .option('--target <file>', 'file to write')
    .option('--to <url>', 'restore to a new Scaleway Block volume (scaleway-block://ZONE), or an Instance group to a server (scaleway-instance://ZONE/SERVER_ID, or scaleway-instance://ZONE with --new-server)')
    .option('--overwrite', 'replace the target if it exists')
    .option('--no-lock', 'with --target: read without locking the store (a read-only store or key); a prune running meanwhile makes this fail, never read wrong data')
    .option('--format <format>', 'raw (sparse file) or qcow2 (v3, uncompressed: what Scaleway imports)', 'raw')
    .option('--bucket <name>', 'with --to: staging bucket for the import (else SCW_BACKUP_BUCKET)')
    .option('--staging-prefix <prefix>', 'with --to: key prefix in the staging bucket', 'scw-backup')
    .option('--name <name>', 'with --to: name of the new volume')
    .option('--attach <server-id>', 'with --to: attach the new volume to this Instance')
    .option('--replace <volume-id>', 'with --attach: in-place swap: detach this volume from the Instance (kept) and attach the restored one')
    .option('--via <path>', 'with --to scaleway-block://: export (import through the staging bucket, up to 1 TB), attach (written onto a new volume attached to this Instance, any size), or auto (the default)')
    .option('--size <size>', 'with --to: size of the new volume (default the original\'s): 20G = 20000000000 bytes as Scaleway counts, 20GiB = 20·2^30')
    .option('--perf-iops <iops>', 'with --to: IOPS class, 5000 or 15000 (default the original\'s)')
    .option('--new-server <name>', 'with --to scaleway-instance://ZONE: create a server of this name with the restored volumes')
    .option('--stop-server', 'with --to scaleway-instance://ZONE/SERVER_ID: stop the server to swap its volumes (and start it again)')
    .option('--commercial-type <type>', 'with --new-server: server type (default the original\'s)')
    .action(async (ref: string, flags: RestoreFlags, cmd: Command) => {
      if (flags.to !== undefined && flags.target !== undefined) throw new InvalidInputError('--to', 'give either --target FILE or --to scaleway-block://ZONE, not both');
      if (flags.to !== undefined && isScalewayInstanceUrl(flags.to)) return restoreScalewayInstance(cmd, ref, flags.to, flags);
      if (flags.to !== undefined) return restoreScalewayBlock(cmd, ref, flags.to, flags);
      if (flags.target === undefined) throw new InvalidInputError('--target', 'missing: give --target FILE (or --to scaleway-block://ZONE)');
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const snap = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'disk' });
      if (isInstanceGroup(snap)) {
        throw new InvalidInputError(`snapshot ${snap.id.slice(0, 12)}`, 'is the group of an Instance backup: restore it with --to scaleway-instance://ZONE[/SERVER_ID], or restore one of its volume snapshots to a file');
      }
      const restore = parseImageFormat('--format', flags.format) === 'qcow2' ? restoreQcow2 : restoreImage;
      const r = await restore(repo, snap, flags.target, { overwrite: flags.overwrite, onProgress: out.progress(), noLock: !flags.lock, onWarning: (m) => out.warning(m), signal: interruptSignal() });
      out.endProgress();
      out.text(`restored snapshot ${snap.id.slice(0, 12)} to ${r.target} (${flags.format}): ${formatBytes(r.size)} disk, ${formatBytes(r.bytesWritten)} written, ` +
        `${formatBytes(r.holeBytes)} left sparse, ${(r.durationMs / 1000).toFixed(1)} s`);
      out.summary('restore', { snapshotId: snap.id, format: flags.format, ...r });
    });
}
