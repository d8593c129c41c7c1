import type { Command } from 'commander';
import { basename } from 'node:path';
import { listSnapshotPath, readSnapshotLayout } from '../../engine/file-restore';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { fileJson, lsLines, volumeLine } from '../ls-format';
import { Output } from '../output';
import { filterFrom, filterOptions, resolveSnapshot, type FilterFlags } from '../snapshot-filter';
import { fileOptions, splitSnapshotPath, type PartitionFlags } from '../snapshot-path';

type LsFlags = RepoFlags & FilterFlags & PartitionFlags;

export function registerLs(program: Command): void {
  fileOptions(filterOptions(commonOptions(program.command('ls'))
    .description('list a snapshot\'s partitions (SNAPSHOT), or a directory or file of its ext2/3/4 file system as ls -ln does (SNAPSHOT:PATH)')
    .argument('<snapshot[:path]>', 'snapshot id (or unique prefix) or "latest", then optionally :PATH inside its file system, e.g. latest:/etc'), 'with "latest": snapshots'))
    .action(async (arg: string, flags: LsFlags) => {
      const { ref, path } = splitSnapshotPath(arg);
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const snap = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'disk' });
      const options = { partition: flags.partition, noLock: !flags.lock, signal: interruptSignal(), onWarning: (m: string) => out.warning(m) };
      if (path === undefined) {
        const layout = await readSnapshotLayout(repo, snap, options);
        out.text(layout.table ? `${layout.table.scheme.toUpperCase()} partition table, ${layout.table.sectorSize}-byte sectors` : 'no partition table');
        for (const v of layout.volumes) out.text(volumeLine(v));
        out.summary('ls', { snapshotId: snap.id, table: layout.table ? { scheme: layout.table.scheme, sectorSize: layout.table.sectorSize } : null, volumes: layout.volumes });
        return;
      }
      const listing = await listSnapshotPath(repo, snap, path, options);
      const name = (e: { path: string }) => (listing.directory ? basename(e.path) : e.path);
      for (const line of lsLines(listing.entries, name)) out.text(line);
      out.summary('ls', {
        snapshotId: snap.id, partition: listing.volume.partition?.number ?? null, path: listing.path, directory: listing.directory,
        entries: listing.entries.map((e) => fileJson(e, name(e))),
      });
    });
}
