/**
 * The retention policy of `forget`, as pure functions: which snapshots of a group to keep and why.
 * Semantics are restic's ("Removing snapshots according to a policy", restic 0.17): every keep-*
 * rule counts distinct calendar buckets from the newest snapshot back, a snapshot kept by any rule
 * is kept, and a bucket rule that still has count left when it reaches the oldest snapshot keeps it
 * too. Calendar buckets are taken in one time zone, UTC unless told otherwise (FORMAT.md §12).
 */
import { InvalidInputError } from './errors';

/** A number of buckets, or every bucket. */
export type KeepCount = number | 'unlimited';

/** restic's duration: years, months, days and hours, e.g. `1y5m7d2h`. */
export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

export interface RetentionPolicy {
  /** The N newest snapshots. */
  last?: KeepCount;
  hourly?: KeepCount;
  daily?: KeepCount;
  weekly?: KeepCount;
  monthly?: KeepCount;
  yearly?: KeepCount;
  /** Every snapshot newer than the newest one minus this. */
  within?: RetentionDuration;
  withinHourly?: RetentionDuration;
  withinDaily?: RetentionDuration;
  withinWeekly?: RetentionDuration;
  withinMonthly?: RetentionDuration;
  withinYearly?: RetentionDuration;
}

export interface RetentionOptions {
  /** "Now", for the rule that snapshots from the future do not set the newest time (default: the clock). */
  now?: Date;
  /** IANA time zone for calendar buckets (default `UTC`; `local` = this machine's zone). */
  timeZone?: string;
}

/** What the policy needs of a snapshot. */
export interface Dated {
  id: string;
  /** ISO 8601 time. */
  time: string;
}

export interface KeptSnapshot<T> {
  snapshot: T;
  /** Every rule that keeps it, e.g. `daily snapshot`, `oldest yearly snapshot`, `within 7d`. */
  reasons: string[];
}

export interface RetentionDecision<T> {
  /** Newest first. */
  keep: Array<KeptSnapshot<T>>;
  /** Newest first. */
  remove: T[];
}

const COUNT_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const WITHIN_RULES = ['withinHourly', 'withinDaily', 'withinWeekly', 'withinMonthly', 'withinYearly'] as const;
type Unit = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

/** Parse restic's duration syntax: one or more `<n><unit>` with unit y (years), m (months), d, h. */
export function parseRetentionDuration(text: string, option = 'duration'): RetentionDuration {
  const out: RetentionDuration = { years: 0, months: 0, days: 0, hours: 0 };
  if (!/^(\d+[ymdh])+$/.test(text)) {
    throw new InvalidInputError(option, `"${text}" is not a duration: write years, months, days and hours like 1y6m7d12h (m is months)`);
  }
  const seen = new Set<string>();
  for (const [, n, unit] of text.matchAll(/(\d+)([ymdh])/g)) {
    if (seen.has(unit)) throw new InvalidInputError(option, `"${text}" gives the unit ${unit} twice`);
    seen.add(unit);
    const key = ({ y: 'years', m: 'months', d: 'days', h: 'hours' } as const)[unit as 'y' | 'm' | 'd' | 'h'];
    out[key] = Number(n);
  }
  return out;
}

export function formatRetentionDuration(d: RetentionDuration): string {
  const s = `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`;
  return s || '0h';
}

const isZeroDuration = (d: RetentionDuration | undefined): boolean => !d || (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0);
const countActive = (c: KeepCount | undefined): boolean => c === 'unlimited' || (typeof c === 'number' && c > 0);

/** A policy that keeps nothing: forget refuses it (it would remove every snapshot). */
export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return !COUNT_RULES.some((r) => countActive(policy[r])) && isZeroDuration(policy.within) && WITHIN_RULES.every((r) => isZeroDuration(policy[r]));
}

/** Check counts (whole numbers ≥ 0 or 'unlimited') and durations; throws naming the rule. */
export function validatePolicy(policy: RetentionPolicy): void {
  for (const r of COUNT_RULES) {
    const c = policy[r];
    if (c !== undefined && c !== 'unlimited' && !(Number.isSafeInteger(c) && c >= 0)) {
      throw new InvalidInputError(`keep ${r}`, `${String(c)} is not a whole number of snapshots (or "unlimited")`);
    }
  }
  for (const r of ['within', ...WITHIN_RULES] as const) {
    const d = policy[r];
    if (d && ![d.years, d.months, d.days, d.hours].every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new InvalidInputError(`keep ${r}`, 'a duration has whole, non-negative years, months, days and hours');
    }
  }
}

/** A readable summary, e.g. "keep 7 daily, 4 weekly snapshots and all snapshots within 1m of the newest". */
export function describePolicy(policy: RetentionPolicy): string {
  const counts = COUNT_RULES.filter((r) => countActive(policy[r]))
    .map((r) => `${policy[r] === 'unlimited' ? 'all' : String(policy[r])} ${r === 'last' ? 'latest' : r}`);
  const withins = WITHIN_RULES.filter((r) => !isZeroDuration(policy[r]))
    .map((r) => `${r.slice('within'.length).toLowerCase()} snapshots within ${formatRetentionDuration(policy[r] as RetentionDuration)}`);
  const parts = [...(counts.length ? [`${counts.join(', ')} snapshots`] : []), ...withins];
  if (!isZeroDuration(policy.within)) parts.push(`all snapshots within ${formatRetentionDuration(policy.within as RetentionDuration)} of the newest`);
  return parts.length ? `keep ${parts.join(', ')}` : 'keep nothing';
}

/** Calendar fields of an instant in a time zone. */
interface Calendar {
  year: number;
  month: number;
  day: number;
  hour: number;
}

/** Resolve `local` and check the zone exists; returns a function from epoch ms to calendar fields. */
export function calendarIn(timeZone = 'UTC'): (ms: number) => Calendar {
  if (timeZone === 'UTC') {
    return (ms) => {
      const d = new Date(ms);
      return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
    };
  }
  const zone = timeZone === 'local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : timeZone;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric' });
  } catch {
    throw new InvalidInputError('time zone', `"${timeZone}" is not a time zone: use an IANA name such as Europe/Paris, or UTC, or local`);
  }
  return (ms) => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour };
  };
}

/** ISO 8601 week as year*100 + week: weeks run Monday to Sunday, week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): number {
  const DAY = 86_400_000;
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = date + (3 - weekday) * DAY;
  const weekYear = new Date(thursday).getUTCFullYear();
  return weekYear * 100 + 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / (7 * DAY));
}

function bucketOf(unit: Unit, c: Calendar): number {
  switch (unit) {
    case 'hourly': return ((c.year * 100 + c.month) * 100 + c.day) * 100 + c.hour;
    case 'daily': return (c.year * 100 + c.month) * 100 + c.day;
    case 'weekly': return isoWeek(c.year, c.month, c.day);
    case 'monthly': return c.year * 100 + c.month;
    case 'yearly': return c.year;
  }
}

/** `ms` minus a duration, with calendar arithmetic (Go's AddDate: 31 March minus a month is 3 March). */
export function subtractDuration(ms: number, d: RetentionDuration): number {
  if (!Number.isFinite(ms)) return ms;
  const t = new Date(ms);
  const shifted = Date.UTC(t.getUTCFullYear() - d.years, t.getUTCMonth() - d.months, t.getUTCDate() - d.days,
    t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds(), t.getUTCMilliseconds());
  return shifted - d.hours * 3_600_000;
}

function parseTime(s: Dated): number {
  const ms = Date.parse(s.time);
  if (Number.isNaN(ms)) throw new InvalidInputError(`snapshot ${s.id}`, `its time ${JSON.stringify(s.time)} is not an ISO 8601 time`);
  return ms;
}

/**
 * Apply a policy to one group of snapshots. Pure: the same snapshots, policy, zone and `now` give
 * the same answer. Order: newest first; snapshots with the same time are ordered by id.
 */
export function applyRetentionPolicy<T extends Dated>(snapshots: readonly T[], policy: RetentionPolicy, options: RetentionOptions = {}): RetentionDecision<T> {
  validatePolicy(policy);
  const calendar = calendarIn(options.timeZone);
  const now = (options.now ?? new Date()).getTime();
  const list = snapshots.map((s) => ({ s, ms: parseTime(s) }))
    .sort((a, b) => b.ms - a.ms || (a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0));
  const decision: RetentionDecision<T> = { keep: [], remove: [] };
  if (list.length === 0) return decision;

  // Durations count back from the newest snapshot that is not in the future.
  let latest = Number.NEGATIVE_INFINITY;
  for (const { ms } of list) if (ms > latest && ms < now) latest = ms;

  const counters = COUNT_RULES.map((rule) => ({
    rule,
    left: policy[rule] ?? 0,
    last: undefined as number | undefined,
    reason: rule === 'last' ? 'last snapshot' : `${rule} snapshot`,
  }));
  const withins = WITHIN_RULES.filter((r) => !isZeroDuration(policy[r])).map((rule) => {
    const d = policy[rule] as RetentionDuration;
    const unit = rule.slice('within'.length).toLowerCase() as Unit;
    return { unit, since: subtractDuration(latest, d), last: undefined as number | undefined, reason: `${unit} within ${formatRetentionDuration(d)}` };
  });
  const withinSince = isZeroDuration(policy.within) ? undefined : subtractDuration(latest, policy.within as RetentionDuration);

  list.forEach(({ s, ms }, nr) => {
    const oldest = nr === list.length - 1;
    const cal = calendar(ms);
    const reasons: string[] = [];
    if (withinSince !== undefined && ms > withinSince) reasons.push(`within ${formatRetentionDuration(policy.within as RetentionDuration)}`);
    for (const c of counters) {
      if (!countActive(c.left)) continue;
      // keep-last counts snapshots, the others distinct calendar buckets.
      const bucket = c.rule === 'last' ? nr : bucketOf(c.rule as Unit, cal);
      // A rule with count left when it reaches the oldest snapshot keeps that one too (restic 0.17).
      if (bucket !== c.last || oldest) {
        reasons.push(bucket === c.last ? `oldest ${c.reason}` : c.reason);
        c.last = bucket;
        if (c.left !== 'unlimited') c.left--;
      }
    }
    for (const w of withins) {
      if (ms <= w.since) continue;
      const bucket = bucketOf(w.unit, cal);
      if (bucket !== w.last || oldest) {
        reasons.push(bucket === w.last ? `oldest ${w.reason}` : w.reason);
        w.last = bucket;
      }
    }
    if (reasons.length > 0) decision.keep.push({ snapshot: s, reasons });
    else decision.remove.push(s);
  });
  return decision;
}

/** Fields snapshots can be grouped by; `source` means host and location. */
export type GroupField = 'host' | 'location' | 'tags';

/** `source` (default), `host`, `location`, `tags`, comma-separated combinations, or `none`. */
export function parseGroupBy(spec: string): GroupField[] {
  const text = spec.trim();
  if (text === '' || text === 'none') return [];
  const fields = new Set<GroupField>();
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === 'source') {
      fields.add('host');
      fields.add('location');
    } else if (part === 'host' || part === 'location' || part === 'tags') fields.add(part);
    else throw new InvalidInputError('--group-by', `"${part}" is not source, host, location, tags or none`);
  }
  return (['host', 'location', 'tags'] as const).filter((f) => fields.has(f));
}

/** What the snapshots of one group share. */
export interface SnapshotGroupKey {
  hostname?: string;
  location?: string;
  tags?: Record<string, string>;
}

interface Groupable extends Dated {
  hostname: string;
  source: { location: string };
  tags: Record<string, string>;
}

/** Split snapshots into groups that share the given fields, in order of first appearance. */
export function groupSnapshots<T extends Groupable>(snapshots: readonly T[], fields: readonly GroupField[]): Array<{ key: SnapshotGroupKey; snapshots: T[] }> {
  const groups = new Map<string, { key: SnapshotGroupKey; snapshots: T[] }>();
  for (const s of snapshots) {
    const key: SnapshotGroupKey = {};
    if (fields.includes('host')) key.hostname = s.hostname;
    if (fields.includes('location')) key.location = s.source.location;
    if (fields.includes('tags')) key.tags = Object.fromEntries(Object.entries(s.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const k = JSON.stringify(key);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { key, snapshots: [] }));
    g.snapshots.push(s);
  }
  return [...groups.values()];
}
