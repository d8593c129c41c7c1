/**
 * When a backup is due: a schedule is an RPO ("24h", "4h", "30m", "7d": the newest snapshot may be
 * at most that old) or a cron expression ("0 3 * * *", five fields, UTC unless a time zone is given:
 * a backup is due once a scheduled time has passed since the newest snapshot).
 */
import { CronExpressionParser } from 'cron-parser';

export type Schedule =
  | { kind: 'rpo'; text: string; ms: number }
  | { kind: 'cron'; text: string; timeZone: string };

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse a schedule; a bad one is an Error naming the input and the accepted forms. */
export function parseSchedule(text: string, timeZone = 'UTC', input = 'schedule'): Schedule {
  const t = text.trim();
  const rpo = /^(\d+)\s*([mhd])$/.exec(t);
  if (rpo) {
    const ms = Number(rpo[1]) * UNIT_MS[rpo[2]];
    if (ms < 5 * 60_000 || ms > 366 * 86_400_000) throw new Error(`${input}: ${JSON.stringify(text)} must be between 5m and 366d`);
    return { kind: 'rpo', text: t, ms };
  }
  if (t.split(/\s+/).length === 5) {
    try {
      CronExpressionParser.parse(t, { tz: timeZone });
      return { kind: 'cron', text: t, timeZone };
    } catch (err) {
      throw new Error(`${input}: ${JSON.stringify(text)} is not a valid cron expression: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`${input}: ${JSON.stringify(text)} is neither an RPO (e.g. "24h", "4h", "30m", "7d") nor a five-field cron expression (e.g. "0 3 * * *")`);
}

/** The latest moment the next backup should have happened by, given the newest snapshot's time. */
export function dueAt(schedule: Schedule, last: Date | undefined): Date | undefined {
  if (!last) return undefined;
  if (schedule.kind === 'rpo') return new Date(last.getTime() + schedule.ms);
  return CronExpressionParser.parse(schedule.text, { tz: schedule.timeZone, currentDate: last }).next().toDate();
}

/** Is a backup due at `now`? Always, when there is no snapshot yet. */
export function isDue(schedule: Schedule, last: Date | undefined, now: Date): boolean {
  const at = dueAt(schedule, last);
  return at === undefined || at.getTime() <= now.getTime();
}
