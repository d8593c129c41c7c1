import type { Command } from 'commander';
import { InvalidInputError, UsageError } from '../../engine/errors';
import { dumpSnapshotPath } from '../../engine/file-restore';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { filterFrom, filterOptions, resolveSnapshot, type FilterFlags } from '../snapshot-filter';
import { fileOptions, splitSnapshotPath, type PartitionFlags } from '../snapshot-path';

interface DumpFlags extends RepoFlags, FilterFlags, PartitionFlags {
  target?: string;
}

export function registerDump(program: Command): void {
  fileOptions(filterOptions(commonOptions(program.command('dump'))
    .description('write a file, symlink or directory tree of a snapshot\'s ext2/3/4 file system to --target, with modes and times (never follows a link, never overwrites)')
    .argument('<snapshot:path>', 'snapshot id (or unique prefix) or "latest", then :PATH inside its file system, e.g. latest:/etc/nginx'), 'with "latest": snapshots'))
    .option('--target <file|dir>', 'where to write: a new name, or an existing folder to write into (a dump of / fills an empty folder)')
    .action(async (arg: string, flags: DumpFlags) => {
      const { ref, path } = splitSnapshotPath(arg);
      if (path === undefined || path === '') throw new UsageError('<snapshot:path>', `"${arg}" names no path: give SNAPSHOT:PATH, e.g. latest:/etc/hosts`);
      if (flags.target === undefined) throw new InvalidInputError('--target', 'missing: give --target FILE or --target DIR');
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const snap = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'disk' });
      const r = await dumpSnapshotPath(repo, snap, path, flags.target, {
        partition: flags.partition, noLock: !flags.lock, signal: interruptSignal(), onWarning: (m) => out.warning(m), onProgress: out.progress(),
      });
      out.endProgress();
      out.text(`dumped ${r.path} of snapshot ${snap.id.slice(0, 12)} to ${r.target}: ${r.files} file(s), ${r.directories} folder(s), ${r.symlinks} symlink(s), ` +
        `${formatBytes(r.bytes)}${r.skipped > 0 ? `; ${r.skipped} device node(s), FIFO(s) or socket(s) not written` : ''}`);
      out.summary('dump', { snapshotId: snap.id, partition: r.volume.partition?.number ?? null, path: r.path, target: r.target, files: r.files,
        directories: r.directories, symlinks: r.symlinks, skipped: r.skipped, bytes: r.bytes });
    });
}
