import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError, NotFoundError } from '../engine/errors';
import { describeFilter, findSnapshot, isEmptyFilter, listSnapshots, type SnapshotFilter } from '../engine/store/snapshots';
import type { Repository } from '../engine/store/repository';
import type { Snapshot } from '../engine/store/snapshot';
import { isInstanceGroup } from '../engine/scaleway/instance-group';
import { collectTag } from './args';
import { skippedWarning, type Output } from './output';

/** restic's snapshot filters: --tag, --host and --source (restic's --path). */
export interface FilterFlags {
  tag?: Record<string, string>;
  host?: string;
  source?: string[];
}

export function collectSource(value: string, previous: string[] = []): string[] {
  // A local path as the user types it; snapshots record local images by absolute path.
  return [...previous, value.includes('://') ? value : resolve(value)];
}

/** The `<snapshot>` argument of the commands that take one snapshot (restore, drill). */
export const SNAPSHOT_ARGUMENT = 'snapshot id (or unique prefix), or "latest" (the newest of those --source, --host and --tag select)';

/** Add the filter options; `what` says what they narrow ("snapshots", "source snapshots"...). */
export function filterOptions(cmd: Command, what = 'snapshots'): Command {
  return cmd
    .option('--tag <key=value>', `only ${what} with this tag (repeatable: all must match)`, collectTag)
    .option('--host <name>', `only ${what} of this host`)
    .option('--source <location>', `only ${what} of this source: a file path, scaleway-block://ZONE/VOLUME_ID... (repeatable)`, collectSource);
}

export function filterFrom(flags: FilterFlags): SnapshotFilter {
  return { tags: flags.tag, host: flags.host, sources: flags.source };
}

/**
 * The snapshot a command names: an id or prefix, or `latest` among the filtered snapshots of the kind
 * the command can use (Instance groups, or disks). In a store shared by several sources, `latest`
 * alone is ambiguous: refused when the snapshot is about to become a cloud volume or server
 * (`strict`), else chosen with a warning that names the source it picked.
 */
export async function resolveSnapshot(
  repo: Repository, ref: string, filter: SnapshotFilter, out: Output, options: { kind: 'disk' | 'group'; strict?: boolean },
): Promise<Snapshot> {
  if (ref !== 'latest') return findSnapshot(repo, ref, { onDamaged: skippedWarning(out) });
  const listing = await listSnapshots(repo, filter);
  listing.damaged.forEach(skippedWarning(out));
  const warned = new Set(listing.damaged.map((d) => d.id));
  const usable = listing.snapshots.filter((s) => isInstanceGroup(s) === (options.kind === 'group'));
  const which = describeFilter(filter);
  const kind = options.kind === 'group' ? 'Instance backup' : 'disk snapshot';
  if (usable.length === 0) throw new NotFoundError(`no ${kind} in ${repo.location}${which ? ` ${which}` : ''}`);
  const latest = usable[usable.length - 1];
  const sources = [...new Set(usable.map((s) => s.source.location))];
  if (isEmptyFilter(filter) && sources.length > 1) {
    const named = `${sources.length} sources (${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ', ...' : ''})`;
    if (options.strict) {
      throw new InvalidInputError('--source', `"latest" is ambiguous: ${repo.location} holds ${kind}s of ${named}; ` +
        'say which with --source LOCATION (or --host, --tag), or give a snapshot id');
    }
    out.warning(`"latest" of ${named} is the newest of them all, of ${latest.source.location}; choose with --source LOCATION`);
  }
  // Its manifest from its file; one that does not read is skipped, with a warning, for the newest that does.
  return findSnapshot(repo, 'latest', {
    ...filter,
    accept: (s) => isInstanceGroup(s) === (options.kind === 'group'),
    onDamaged: (d) => {
      if (!warned.has(d.id)) skippedWarning(out)(d);
    },
  });
}
