import type { Command } from 'commander';
import { BackupError, InvalidInputError } from '../../engine/errors';
import { forgetSnapshots, removeSnapshots, type ForgetResult } from '../../engine/forget';
import { parseGroupBy, parseRetentionDuration, type KeepCount, type RetentionPolicy, type SnapshotGroupKey } from '../../engine/retention';
import { pruneRepository } from '../../engine/prune';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output } from '../output';
import { filterFrom, filterOptions, type FilterFlags } from '../snapshot-filter';
import { addPruneOptions, failIfNotDeleted, printPrune, pruneOptionsFrom, type PruneFlags } from './prune';

interface ForgetFlags extends RepoFlags, PruneFlags, FilterFlags {
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  keepWithinHourly?: string;
  keepWithinDaily?: string;
  keepWithinWeekly?: string;
  keepWithinMonthly?: string;
  keepWithinYearly?: string;
  groupBy: string;
  timeZone: string;
  prune?: boolean;
}

const COUNTS = [['last', 'keepLast'], ['hourly', 'keepHourly'], ['daily', 'keepDaily'], ['weekly', 'keepWeekly'], ['monthly', 'keepMonthly'], ['yearly', 'keepYearly']] as const;
const WITHINS = [['within', 'keepWithin'], ['withinHourly', 'keepWithinHourly'], ['withinDaily', 'keepWithinDaily'],
  ['withinWeekly', 'keepWithinWeekly'], ['withinMonthly', 'keepWithinMonthly'], ['withinYearly', 'keepWithinYearly']] as const;

const optionName = (flag: string): string => `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function parseCount(text: string, option: string): KeepCount {
  if (text === 'unlimited') return 'unlimited';
  if (!/^\d+$/.test(text)) throw new InvalidInputError(option, `"${text}" is not a whole number of snapshots (or "unlimited")`);
  return Number(text);
}

function policyFrom(flags: ForgetFlags): { policy: RetentionPolicy; given: boolean } {
  const policy: RetentionPolicy = {};
  let given = false;
  for (const [rule, flag] of COUNTS) {
    const v = flags[flag];
    if (v !== undefined) {
      policy[rule] = parseCount(v, optionName(flag));
      given = true;
    }
  }
  for (const [rule, flag] of WITHINS) {
    const v = flags[flag];
    if (v !== undefined) {
      policy[rule] = parseRetentionDuration(v, optionName(flag));
      given = true;
    }
  }
  return { policy, given };
}

function describeKey(key: SnapshotGroupKey): string {
  const parts: string[] = [];
  if (key.hostname !== undefined) parts.push(`host ${key.hostname}`);
  if (key.location !== undefined) parts.push(`location ${key.location}`);
  if (key.tags !== undefined) parts.push(`tags ${Object.entries(key.tags).map(([k, v]) => `${k}=${v}`).join(',') || '(none)'}`);
  return parts.length ? parts.join(', ') : 'all snapshots';
}

const when = (time: string | undefined): string => (time === undefined ? 'damaged manifest  ' : time.slice(0, 19).replace('T', ' '));

function printForget(out: Output, r: ForgetResult): void {
  out.text(`applying policy: ${r.policy}`);
  for (const g of r.groups) {
    out.text('');
    out.text(`snapshots of ${describeKey(g.key)}:`);
    if (g.keep.length > 0) {
      out.text(`keep ${g.keep.length} snapshot(s):`);
      for (const k of g.keep) out.text(`  ${k.id.slice(0, 12)}  ${when(k.time)}  ${k.reasons.join(', ')}`);
    }
    if (g.remove.length > 0) {
      out.text(`remove ${g.remove.length} snapshot(s):`);
      for (const s of g.remove) out.text(`  ${s.id.slice(0, 12)}  ${when(s.time)}`);
    }
  }
  out.text('');
  for (const w of r.warnings) out.text(`warning: ${w}`);
  for (const n of r.notRemoved) out.text(`not removed: snapshot ${n.id.slice(0, 12)}: ${n.message}`);
  out.text(r.dryRun ? `dry run: would remove ${r.removed.length} snapshot(s)` : `removed ${r.removed.length} snapshot(s)`);
}

export function registerForget(program: Command): void {
  let cmd = commonOptions(program.command('forget'))
    .description('remove snapshots by a retention policy (per host and source by default), or the given snapshots; data stays until prune')
    .argument('[snapshot...]', 'snapshots to remove (ids, unique prefixes or "latest") instead of a policy');
  for (const [rule, flag] of COUNTS) cmd = cmd.option(`${optionName(flag)} <n>`, rule === 'last' ? 'keep the n newest snapshots ("unlimited": all)' : `keep the newest snapshot of each of the last n ${rule === 'daily' ? 'days' : rule.replace(/ly$/, 's')} that have one`);
  for (const [rule, flag] of WITHINS) cmd = cmd.option(`${optionName(flag)} <duration>`, rule === 'within' ? 'keep every snapshot within this duration of the newest (e.g. 1y6m7d12h; m = months)' : `keep ${rule.slice(6).toLowerCase()} snapshots within this duration of the newest`);
  addPruneOptions(filterOptions(cmd)
    .option('--group-by <fields>', 'apply the policy per group: source (host and location), host, location, tags, a comma list, or none', 'source')
    .option('--time-zone <zone>', 'time zone of hourly/daily/... buckets: UTC, local, or an IANA name such as Europe/Paris', 'UTC')
    .option('--dry-run', 'only show what would be removed')
    .option('--prune', 'run prune afterwards when snapshots were removed'))
    .action(async (refs: string[], flags: ForgetFlags) => {
      const out = new Output(!!flags.json);
      const { policy, given } = policyFrom(flags);
      const groupBy = parseGroupBy(flags.groupBy);
      const pruneOptions = pruneOptionsFrom(flags);
      if (refs.length > 0 && given) throw new InvalidInputError('--keep-*', 'give either snapshot ids or a policy, not both');
      const repo = await openRepo(flags);
      const result = refs.length > 0
        ? await removeSnapshots(repo, refs, { dryRun: flags.dryRun, signal: interruptSignal(), filter: filterFrom(flags) })
        : await forgetSnapshots(repo, { policy, groupBy, tags: flags.tag, hostname: flags.host, locations: flags.source, timeZone: flags.timeZone, dryRun: flags.dryRun, signal: interruptSignal() });
      printForget(out, result);
      const summary: Record<string, unknown> = { ...result, timeZone: flags.timeZone };
      if (flags.prune && result.removed.length > 0) {
        // A dry run shows what the prune after this forget would do.
        out.text(flags.dryRun ? 'the prune that would follow' : 'running prune');
        try {
          const pruned = await pruneRepository(repo, { ...pruneOptions, assumeRemoved: result.removed, onProgress: out.progress() });
          out.endProgress();
          printPrune(out, pruned);
          summary.prune = pruned;
          out.summary('forget', summary);
          failIfNotDeleted(result.notRemoved.length + pruned.notDeleted.length, 'object(s)');
          return;
        } catch (err) {
          if (!(err instanceof BackupError) || err.code === 'DELETE_REFUSED') throw err;
          summary.prune = { error: { code: err.code, message: err.message } };
          out.summary('forget', summary);
          throw err;
        }
      }
      out.summary('forget', summary);
      failIfNotDeleted(result.notRemoved.length, 'snapshot(s)');
    });
}
