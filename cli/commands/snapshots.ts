import type { Command } from 'commander';
import { listSnapshots } from '../../engine/store/snapshots';
import type { SnapshotSummary } from '../../engine/store/snapshot';
import { isInstanceGroup, readGroup } from '../../engine/scaleway/instance-group';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { Output, formatBytes } from '../output';
import { filterFrom, filterOptions, type FilterFlags } from '../snapshot-filter';

type SnapshotsFlags = RepoFlags & FilterFlags;

/** What a snapshot is of: its source, and for an Instance backup, how many volumes it groups. */
export function describeSource(s: SnapshotSummary): string {
  if (!isInstanceGroup(s)) return s.source.location;
  let volumes = '?';
  try {
    volumes = String(readGroup(s).members.length);
  } catch {
    // A group whose description does not read: still listed, `check` and restore name the problem.
  }
  return `${s.source.location} (Instance, ${volumes} volume(s))`;
}

/** Share of the disk's data (everything but holes) that the store already had. */
export function dedupPercent(s: SnapshotSummary): string {
  const data = s.size - s.stats.holeBytes;
  if (data <= 0) return '-';
  return `${(100 - (s.stats.bytesNew / data) * 100).toFixed(1)}%`;
}

export function registerSnapshots(program: Command): void {
  filterOptions(commonOptions(program.command('snapshots'))
    .description('list snapshots, oldest first, with their source and dedup figures'))
    .action(async (flags: SnapshotsFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const { snapshots: snaps, damaged } = await listSnapshots(repo, filterFrom(flags));
      out.text(['ID          ', 'TIME                ', 'HOST        ', 'SIZE      ', 'NEW       ', 'STORED    ', 'DEDUP ', 'SOURCE', 'TAGS'].join(' '));
      for (const s of snaps) {
        out.text([
          s.id.slice(0, 12),
          s.time.slice(0, 19).replace('T', ' ') + ' ',
          s.hostname.slice(0, 12).padEnd(12),
          formatBytes(s.size).padEnd(10),
          formatBytes(s.stats.bytesNew).padEnd(10),
          formatBytes(s.stats.bytesStored).padEnd(10),
          dedupPercent(s).padEnd(6),
          describeSource(s),
          Object.entries(s.tags).map(([k, v]) => `${k}=${v}`).join(','),
        ].join(' '));
      }
      out.text(`${snaps.length} snapshot(s)` + (damaged.length > 0 ? `, ${damaged.length} damaged manifest(s)` : ''));
      // Damaged manifests are skipped, never hidden: "check" reports them too, "forget ID" removes one.
      for (const d of damaged) out.warning(`${d.message}; skipped (run "scw-backup check"; "forget ${d.id.slice(0, 12)}" removes it)`);
      out.summary('snapshots', {
        snapshots: snaps.map((s) => ({ id: s.id, time: s.time, hostname: s.hostname, source: s.source, tags: s.tags, size: s.size, stats: s.stats })),
        damaged,
      });
    });
}
