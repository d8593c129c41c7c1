import type { Command } from 'commander';
import { InvalidInputError, findSnapshot, restoreImage, restoreQcow2 } from '../../engine';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { Output, formatBytes } from '../output';

interface RestoreFlags extends RepoFlags {
  target: string;
  overwrite?: boolean;
  format: string;
}

export function registerRestore(program: Command): void {
  commonOptions(program.command('restore'))
    .description('restore a snapshot to a disk image file (sparse: holes are not written)')
    .argument('<snapshot>', 'snapshot id (or unique prefix), or "latest"')
    .requiredOption('--target <file>', 'file to write')
    .option('--overwrite', 'replace the target if it exists')
    .option('--format <format>', 'raw (sparse file) or qcow2 (v3, uncompressed: what Scaleway imports)', 'raw')
    .action(async (ref: string, flags: RestoreFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const snap = await findSnapshot(repo, ref);
      if (flags.format !== 'raw' && flags.format !== 'qcow2') throw new InvalidInputError('--format', `"${flags.format}" is not raw or qcow2`);
      const restore = flags.format === 'qcow2' ? restoreQcow2 : restoreImage;
      const r = await restore(repo, snap, flags.target, { overwrite: flags.overwrite, onProgress: out.progress() });
      out.endProgress();
      out.text(`restored snapshot ${snap.id.slice(0, 12)} to ${r.target} (${flags.format}): ${formatBytes(r.size)} disk, ${formatBytes(r.bytesWritten)} written, ` +
        `${formatBytes(r.holeBytes)} left sparse, ${(r.durationMs / 1000).toFixed(1)} s`);
      out.summary('restore', { snapshotId: snap.id, format: flags.format, ...r });
    });
}
