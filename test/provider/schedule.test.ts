import { cadenceProblem, dueAt, gaps, isDue, nextRun, parseSchedule } from '../../provider/schedule';

const at = (iso: string) => new Date(iso);

describe('schedules: RPO and cron', () => {
  it('an RPO is due once the newest snapshot is that old', () => {
    const s = parseSchedule('4h');
    expect(s).toEqual({ kind: 'rpo', text: '4h', ms: 4 * 3600_000 });
    const last = at('2026-11-25T10:00:00Z');
    expect(isDue(s, last, at('2026-11-25T13:59:59Z'))).toBe(false);
    expect(isDue(s, last, at('2026-11-25T14:00:00Z'))).toBe(true);
    expect(dueAt(parseSchedule('7d'), last)).toEqual(at('2026-12-02T10:00:00Z'));
  });

  it('a cron schedule is due once a scheduled time has passed since the newest snapshot', () => {
    const s = parseSchedule('0 3 * * *');
    expect(s.kind).toBe('cron');
    const last = at('2026-11-25T03:05:00Z');
    expect(dueAt(s, last)).toEqual(at('2026-11-26T03:00:00Z'));
    expect(isDue(s, last, at('2026-11-26T02:59:00Z'))).toBe(false);
    expect(isDue(s, last, at('2026-11-26T03:00:00Z'))).toBe(true);
    // In another time zone the same expression fires at another instant.
    expect(dueAt(parseSchedule('0 3 * * *', 'Europe/Paris'), last)).toEqual(at('2026-11-26T02:00:00Z'));
  });

  it('with no snapshot yet, a backup is due', () => {
    expect(isDue(parseSchedule('24h'), undefined, new Date())).toBe(true);
    expect(isDue(parseSchedule('*/15 * * * *'), undefined, new Date())).toBe(true);
  });

  it('refuses what is neither, naming the input', () => {
    expect(() => parseSchedule('daily')).toThrow(/^schedule: "daily" is neither an RPO/);
    expect(() => parseSchedule('1m')).toThrow(/between 5m and 366d/);
    expect(() => parseSchedule('61 3 * * *', 'UTC', 'sources[2].schedule')).toThrow(/^sources\[2\]\.schedule: "61 3 \* \* \*" is not a valid cron expression/);
  });
});

describe('cadence: how often the runner runs', () => {
  const HOUR = 3600_000;
  const hourly = parseSchedule('0 * * * *', 'UTC', 'cadence');

  it('an interval runs at its whole multiples since the epoch, a cron at its times', () => {
    expect(nextRun(parseSchedule('1h'), at('2026-11-25T10:20:00Z'))).toEqual(at('2026-11-25T11:00:00Z'));
    expect(nextRun(parseSchedule('4h'), at('2026-11-25T10:20:00Z'))).toEqual(at('2026-11-25T12:00:00Z'));
    expect(nextRun(parseSchedule('15 * * * *'), at('2026-11-25T10:20:00Z'))).toEqual(at('2026-11-25T11:15:00Z'));
  });

  it('hourly runs and a 4h RPO: the run whose next run would be late takes the backup, not the first run after the deadline', () => {
    const rpo = parseSchedule('4h');
    // The last backup's snapshot was taken a minute into the 06:00 run: its deadline is 10:01.
    const last = at('2026-11-25T06:01:00Z');
    // Without a cadence, the 10:00 run is a minute early and the backup waits for 11:00: 5 hours old.
    expect(isDue(rpo, last, at('2026-11-25T10:00:30Z'))).toBe(false);
    // With it, the 10:00 run takes it (11:00 would be late), and the 09:00 run does not (10:00 is in time).
    expect(isDue(rpo, last, at('2026-11-25T10:00:30Z'), hourly)).toBe(true);
    expect(isDue(rpo, last, at('2026-11-25T09:00:30Z'), hourly)).toBe(false);
    // Every moment of the 10:00 slot answers alike: a preview after the update agrees with it.
    expect(isDue(rpo, last, at('2026-11-25T10:59:00Z'), hourly)).toBe(true);
    expect(isDue(rpo, last, at('2026-11-25T09:59:00Z'), hourly)).toBe(false);
  });

  it('measures the gaps of a cron, daylight saving time included', () => {
    expect(gaps(parseSchedule('0 */6 * * *'))).toEqual({ longest: 6 * HOUR, shortest: 6 * HOUR });
    expect(gaps(parseSchedule('0 3 * * *', 'Europe/Paris'))).toEqual({ longest: 25 * HOUR, shortest: 23 * HOUR });
    expect(gaps(parseSchedule('0 3 * * 1'))).toEqual({ longest: 7 * 24 * HOUR, shortest: 7 * 24 * HOUR });
  });

  it('says why runs cannot keep to a schedule, and nothing when they can', () => {
    expect(cadenceProblem(parseSchedule('4h'), hourly)).toBeUndefined();
    expect(cadenceProblem(parseSchedule('4h'), parseSchedule('4h'))).toBeUndefined();
    expect(cadenceProblem(parseSchedule('4h'), parseSchedule('0 */6 * * *', 'UTC', 'cadence')))
      .toBe('runs "0 */6 * * *" (up to 6h apart) cannot meet the RPO 4h: run at least every 4h, or lengthen the schedule');
    expect(cadenceProblem(parseSchedule('24h'), parseSchedule('0 3 * * *', 'Europe/Paris')))
      .toBe('runs "0 3 * * *" (up to 1d 1h apart) cannot meet the RPO 24h: run at least every 1d, or lengthen the schedule');
    expect(cadenceProblem(parseSchedule('*/30 * * * *'), hourly))
      .toBe('runs "0 * * * *" (up to 1h apart) cannot meet the schedule "*/30 * * * *" (times 30m apart): run at least every 30m, or lengthen the schedule');
  });
});
