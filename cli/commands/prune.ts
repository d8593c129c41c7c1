import type { Command } from 'commander';
import { BackupError, InvalidInputError } from '../../engine/errors';
import { DEFAULT_PRUNE_GRACE_MS, DEFAULT_REPACK_THRESHOLD, pruneRepository, type PruneOptions, type PruneResult } from '../../engine/prune';
import { parseSize } from '../args';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';

export interface PruneFlags {
  dryRun?: boolean;
  repackThreshold?: string;
  maxRepackSize?: string;
  grace?: string;
  ignoreDamagedSnapshots?: boolean;
}

/** "0", "90s", "45min", "2h", "7d" → ms (m alone is ambiguous between minutes and months: refused). */
export function parseGrace(text: string): number {
  const m = /^(\d+)(s|min|h|d)?$/.exec(text.trim());
  if (!m || (m[2] === undefined && m[1] !== '0')) throw new InvalidInputError('--grace', `"${text}" is not a duration such as 0, 90s, 45min, 2h or 7d`);
  return Number(m[1]) * ({ s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'min' | 'h' | 'd'] ?? 0);
}

function parsePercent(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const p = m ? Number(m[1]) : NaN;
  if (!(p >= 0 && p <= 100)) throw new InvalidInputError(option, `"${text}" is not a percentage between 0 and 100`);
  return p;
}

/** The options prune shares with `forget --prune`. */
export function addPruneOptions(cmd: Command): Command {
  return cmd
    .option('--repack-threshold <percent>', `repack a partly used pack when at least this share of it is unused (default ${DEFAULT_REPACK_THRESHOLD}%)`)
    .option('--max-repack-size <size|p%>', 'repack at most this much per run: a size (e.g. 2GiB) or a share of the store (e.g. 10%)')
    .option('--grace <duration>', `never remove or repack packs younger than this (default ${DEFAULT_PRUNE_GRACE_MS / 3_600_000}h; e.g. 0, 45min, 2h, 7d)`)
    .option('--ignore-damaged-snapshots', 'prune even though some snapshot manifest cannot be read: the data only it references is removed (by default prune refuses; "forget ID" removes such a manifest)');
}

export function pruneOptionsFrom(flags: PruneFlags): PruneOptions {
  const max = flags.maxRepackSize?.trim();
  return {
    dryRun: flags.dryRun,
    repackThreshold: flags.repackThreshold !== undefined ? parsePercent(flags.repackThreshold, '--repack-threshold') : undefined,
    maxRepack: max === undefined ? undefined
      : max.endsWith('%') ? { percent: parsePercent(max, '--max-repack-size') }
      : { bytes: parseSize(max, '--max-repack-size') },
    graceMs: flags.grace !== undefined ? parseGrace(flags.grace) : undefined,
    signal: interruptSignal(),
    ignoreDamagedSnapshots: flags.ignoreDamagedSnapshots,
  };
}

export function printPrune(out: Output, r: PruneResult): void {
  for (const w of r.warnings) out.text(`warning: ${w}`);
  const would = r.dryRun ? 'would ' : '';
  out.text(`${r.snapshots} snapshot(s) use ${r.blobs.used} of ${r.blobs.total} blob(s), ${formatBytes(r.bytes.used)} of ${formatBytes(r.bytes.total)} in ${r.packs.total} pack(s)`);
  out.text(`${would}remove ${r.packs.removed} unused pack(s), repack ${r.packs.repacked} partly used pack(s) into ${r.packs.written} new one(s), ` +
    `remove ${r.packs.unindexedRemoved} unindexed pack(s); keep ${r.packs.kept} (${r.packs.youngKept} younger than the grace period) ` +
    `and ${r.packs.unindexedKept} young unindexed pack(s)`);
  out.text(`${r.dryRun ? 'would free' : 'freed'} ${formatBytes(Math.max(0, r.bytes.removed - r.bytes.written))}` +
    (r.dryRun ? '' : `; index: ${r.indexFiles.written} file(s) written, ${r.indexFiles.removed} of ${r.indexFiles.read} old file(s) removed`));
  if (r.leftovers > 0) out.text(`${would}remove ${r.leftovers} temporary file(s) left by interrupted writes`);
  if (r.drills.removed > 0) out.text(`${would}remove ${r.drills.removed} drill record(s) of snapshots that are gone`);
  for (const n of r.notDeleted) out.text(`not deleted: ${n.object}: ${n.message}`);
}

/** After the summary: a prune or forget that could not delete everything exits with 1. */
export function failIfNotDeleted(count: number, what: string): void {
  if (count > 0) {
    throw new BackupError('DELETE_REFUSED', `${count} ${what} could not be deleted (see the summary); nothing was lost: ` +
      'the store refused the deletes (Object Lock retention, or a key without delete permission)');
  }
}

export function registerPrune(program: Command): void {
  addPruneOptions(commonOptions(program.command('prune')))
    .description('remove data no snapshot needs (takes an exclusive lock; refuses while other processes hold locks)')
    .option('--dry-run', 'only show what would be removed')
    .action(async (flags: RepoFlags & PruneFlags) => {
      const out = new Output(!!flags.json);
      const options = pruneOptionsFrom(flags);
      const repo = await openRepo(flags);
      const result = await pruneRepository(repo, { ...options, onProgress: out.progress() });
      out.endProgress();
      printPrune(out, result);
      out.summary('prune', { ...result });
      failIfNotDeleted(result.notDeleted.length, 'object(s)');
    });
}
