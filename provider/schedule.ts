/**
 * When a backup is due: a schedule is an RPO ("24h", "4h", "30m", "7d": the newest snapshot may be
 * at most that old) or a cron expression ("0 3 * * *", five fields, UTC unless a time zone is given:
 * a backup is due once a scheduled time has passed since the newest snapshot).
 *
 * A cadence says how often the runner that takes the backups runs (`pulumi up` in CI, or a
 * BackupSchedule's jobs), in the same two forms: an interval ("1h": runs at every whole hour since
 * the epoch, as `0 * * * *` starts them) or the runner's cron. Without one, a backup is taken by the
 * first run after its deadline, so a backup can get as old as the schedule plus the time between two
 * runs; with one, by the run whose next run would come after the deadline.
 */
import { CronExpressionParser } from 'cron-parser';
import { InvalidInputError } from '../engine';

export type Schedule =
  | { kind: 'rpo'; text: string; ms: number }
  | { kind: 'cron'; text: string; timeZone: string };

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse a schedule; a bad one is an InvalidInputError naming the input and the accepted forms. */
export function parseSchedule(text: string, timeZone = 'UTC', input = 'schedule'): Schedule {
  const t = text.trim();
  const rpo = /^(\d+)\s*([mhd])$/.exec(t);
  if (rpo) {
    const ms = Number(rpo[1]) * UNIT_MS[rpo[2]];
    if (ms < 5 * 60_000 || ms > 366 * 86_400_000) throw new InvalidInputError(input, `${JSON.stringify(text)} must be between 5m and 366d`);
    return { kind: 'rpo', text: t, ms };
  }
  if (t.split(/\s+/).length === 5) {
    try {
      CronExpressionParser.parse(t, { tz: timeZone });
      return { kind: 'cron', text: t, timeZone };
    } catch (err) {
      throw new InvalidInputError(input, `${JSON.stringify(text)} is not a valid cron expression: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new InvalidInputError(input, `${JSON.stringify(text)} is neither an RPO (e.g. "24h", "4h", "30m", "7d") nor a five-field cron expression (e.g. "0 3 * * *")`);
}

/** The latest moment the next backup should have happened by, given the newest snapshot's time. */
export function dueAt(schedule: Schedule, last: Date | undefined): Date | undefined {
  if (!last) return undefined;
  if (schedule.kind === 'rpo') return new Date(last.getTime() + schedule.ms);
  return CronExpressionParser.parse(schedule.text, { tz: schedule.timeZone, currentDate: last }).next().toDate();
}

/** When the runner runs next after `now`. */
export function nextRun(cadence: Schedule, now: Date): Date {
  if (cadence.kind === 'rpo') return new Date((Math.floor(now.getTime() / cadence.ms) + 1) * cadence.ms);
  return CronExpressionParser.parse(cadence.text, { tz: cadence.timeZone, currentDate: now }).next().toDate();
}

/**
 * Is a backup due at `now`? Always when there is no snapshot yet or the deadline has passed; with a
 * cadence, also when the runner's next run would come after the deadline. Every run between two of
 * the cadence's times answers alike, so a preview after an update agrees with it.
 */
export function isDue(schedule: Schedule, last: Date | undefined, now: Date, cadence?: Schedule): boolean {
  const at = dueAt(schedule, last);
  if (at === undefined || at.getTime() <= now.getTime()) return true;
  return cadence !== undefined && nextRun(cadence, now).getTime() > at.getTime();
}

/** A fixed year to measure cron gaps in (a leap year, so February's longer gaps are seen). */
const GAP_WINDOW_START = Date.UTC(2028, 0, 1);
const GAP_WINDOW_MS = 400 * 86_400_000;
const GAP_MAX_RUNS = 5000;

const gapCache = new Map<string, { longest: number; shortest: number }>();

/**
 * The longest and shortest time between two consecutive times of a schedule, over a year (or its
 * first 5000 times). Walking a cron costs ~0.2 ms a time: remembered per expression and zone, since
 * every source of a program usually shares one cadence.
 */
export function gaps(s: Schedule): { longest: number; shortest: number } {
  if (s.kind === 'rpo') return { longest: s.ms, shortest: s.ms };
  const key = `${s.timeZone} ${s.text}`;
  const known = gapCache.get(key);
  if (known) return known;
  const it = CronExpressionParser.parse(s.text, { tz: s.timeZone, currentDate: new Date(GAP_WINDOW_START) });
  let previous = it.next().toDate().getTime();
  let longest = 0;
  let shortest = Number.POSITIVE_INFINITY;
  for (let n = 0; n < GAP_MAX_RUNS && previous < GAP_WINDOW_START + GAP_WINDOW_MS; n++) {
    const t = it.next().toDate().getTime();
    longest = Math.max(longest, t - previous);
    shortest = Math.min(shortest, t - previous);
    previous = t;
  }
  gapCache.set(key, { longest, shortest });
  return { longest, shortest };
}

/**
 * Why runs on `cadence` cannot keep to `schedule`, or undefined when they can: runs further apart
 * than an RPO leave backups older than it; runs further apart than a cron schedule's closest times
 * skip some of them.
 */
export function cadenceProblem(schedule: Schedule, cadence: Schedule): string | undefined {
  const runs = gaps(cadence).longest;
  const wanted = schedule.kind === 'rpo' ? schedule.ms : gaps(schedule).shortest;
  if (runs <= wanted) return undefined;
  const what = schedule.kind === 'rpo' ? `the RPO ${schedule.text}` : `the schedule ${JSON.stringify(schedule.text)} (times ${formatDuration(wanted)} apart)`;
  return `runs ${JSON.stringify(cadence.text)} (up to ${formatDuration(runs)} apart) cannot meet ${what}: run at least every ${formatDuration(wanted)}, or lengthen the schedule`;
}

/** `5h`, `1d 12h`, `30m`: for messages. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 60_000);
  for (const [unit, minutes] of [['d', 1440], ['h', 60], ['m', 1]] as const) {
    const n = Math.floor(rest / minutes);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * minutes;
  }
  return parts.join(' ') || '0m';
}
