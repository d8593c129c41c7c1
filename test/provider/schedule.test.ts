import { dueAt, isDue, parseSchedule } from '../../provider/schedule';

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
