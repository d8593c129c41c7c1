/**
 * What a BackupSource's Diff and Read compare, as pure functions over what the state promises and
 * what the store holds (docs/PULUMI.md "Drift"):
 * - the last snapshot the state knows is still in the store;
 * - every snapshot the retention still keeps is still in the store: the state records the kept
 *   snapshots (`retained`) after each update; the retention applied now to those and to the store's
 *   gives what should be there, and any of it the store lacks is drift (an older snapshot deleted is
 *   seen, not only the newest);
 * - a backup is due by the schedule (and the cadence of the runs), or overdue for a job; past the
 *   schedule's RPO, the reason says so, as the outputs' `rpoMet: false` and the report do.
 */
import { applyRetentionPolicy, describePolicy, type DamagedSnapshot, type KeptSnapshot } from '../engine';
import { rpoMissed } from './compliance';
import { dueAt, isDue, parseSchedule } from './schedule';
import { hasRetention, retentionPolicy, type BackupSourceInputs, type BackupSourceOutputs, type RetainedSnapshot } from './source-inputs';

const short = (id: string): string => id.slice(0, 12);

/** Newest first, one entry per id. */
function union(...lists: ReadonlyArray<readonly RetainedSnapshot[]>): RetainedSnapshot[] {
  const byId = new Map<string, RetainedSnapshot>();
  for (const list of lists) for (const s of list) if (!byId.has(s.id)) byId.set(s.id, { id: s.id, time: s.time });
  return [...byId.values()].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.id < b.id ? -1 : 1));
}

/**
 * What the retention keeps at `now` of the snapshots promised and those held, newest first, with the
 * rules that keep each. No retention keeps everything (nothing is ever forgotten).
 */
export function keptNow(i: Pick<BackupSourceInputs, 'retention' | 'timeZone'>, promised: readonly RetainedSnapshot[], held: readonly RetainedSnapshot[], now: Date): Array<KeptSnapshot<RetainedSnapshot>> {
  const all = union(held, promised);
  if (!hasRetention(i.retention)) return all.map((snapshot) => ({ snapshot, reasons: ['no retention'] }));
  return applyRetentionPolicy(all, retentionPolicy(i.retention), { now, timeZone: i.timeZone }).keep;
}

/** "daily 2, weekly 2": how many kept snapshots each rule keeps. */
function countsByRule(kept: ReadonlyArray<KeptSnapshot<RetainedSnapshot>>): string {
  const counts = new Map<string, number>();
  for (const k of kept) {
    const rules = new Set(k.reasons.map((r) => r.replace(/^oldest /, '').replace(/ snapshot$/, '')));
    for (const rule of rules) counts.set(rule, (counts.get(rule) ?? 0) + 1);
  }
  return [...counts].map(([rule, n]) => `${rule} ${n}`).join(', ');
}

/** What the store holds, as storeDrift compares it. */
export interface StoreHolding {
  /** This source's readable snapshots, newest first. */
  held: readonly RetainedSnapshot[];
  /** Every readable snapshot id in the store. */
  presentIds: ReadonlySet<string>;
  /** Manifests that do not read: a promised one is lost too, and said so. */
  damaged: readonly DamagedSnapshot[];
}

/** Drift between the state's promise and the store: one reason per finding, none when they agree. */
export function storeDrift(olds: BackupSourceOutputs, news: BackupSourceInputs, store: StoreHolding, now: Date): string[] {
  const reasons: string[] = [];
  const last = olds.lastSnapshotId;
  const damaged = new Map(store.damaged.map((d) => [d.id, d.message]));
  if (last && damaged.has(last)) reasons.push(`the last snapshot ${short(last)} is damaged in the store (${damaged.get(last)})`);
  else if (last && !store.presentIds.has(last)) reasons.push(`the last snapshot ${short(last)} is missing from the store`);
  const kept = keptNow(news, olds.retained ?? [], store.held, now);
  const lost = kept.filter((k) => !store.presentIds.has(k.snapshot.id) && k.snapshot.id !== last).map((k) => k.snapshot.id);
  if (lost.length > 0) {
    const policy = hasRetention(news.retention) ? describePolicy(retentionPolicy(news.retention)) : 'none: keep every snapshot';
    const oldest = kept[kept.length - 1].snapshot.time;
    const gone = lost.filter((id) => !damaged.has(id)).map(short);
    const bad = lost.filter((id) => damaged.has(id)).map(short);
    const what = [
      ...(gone.length > 0 ? [`${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'} missing`] : []),
      ...(bad.length > 0 ? [`${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} damaged`] : []),
    ];
    reasons.push(`retention (${policy}) keeps ${kept.length} snapshots (${countsByRule(kept)}; oldest ${oldest}); ` +
      `the store holds ${kept.length - lost.length} of them: ${what.join(', ')}`);
  }
  // A refresh by an earlier version moved lastSnapshotId on and kept only the status.
  if (reasons.length === 0 && (olds.status === 'missing-from-store' || olds.status === 'damaged-in-store')) {
    reasons.push(`a refresh found snapshots lost from the store (status ${olds.status})`);
  }
  return reasons;
}

/** Why a backup is due now, or undefined. `last` is the newest snapshot in the store. */
export function dueReason(olds: BackupSourceOutputs, news: BackupSourceInputs, last: Date | undefined, now: Date): string | undefined {
  const reason = dueOrOverdue(olds, news, last, now);
  const missed = reason && rpoMissed(news, last, now);
  return missed ? `${reason}; ${missed}` : reason;
}

function dueOrOverdue(olds: BackupSourceOutputs, news: BackupSourceInputs, last: Date | undefined, now: Date): string | undefined {
  const timeZone = news.timeZone ?? 'UTC';
  const schedule = parseSchedule(news.schedule, timeZone);
  if (news.runner === 'job') {
    // The job takes the backups; Pulumi raises the alarm once a whole period passed without one.
    const since = last ?? (olds.watchingSince ? new Date(olds.watchingSince) : undefined);
    const due = dueAt(schedule, since);
    if (since && due && now.getTime() >= due.getTime() + (due.getTime() - since.getTime())) {
      return `backup overdue: the scheduled job has taken none since ${since.toISOString()}, schedule ${news.schedule}`;
    }
    return undefined;
  }
  const cadence = news.cadence ? parseSchedule(news.cadence, timeZone, 'cadence') : undefined;
  if (!isDue(schedule, last, now, cadence)) return undefined;
  if (!last) return 'backup due: no snapshot in the store yet';
  const when = (dueAt(schedule, last) as Date).getTime() <= now.getTime() ? '' : `, and the next run (cadence ${news.cadence}) would be too late`;
  return `backup due: the newest snapshot is from ${last.toISOString()}, schedule ${news.schedule}${when}`;
}
