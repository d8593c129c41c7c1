import {
  applyRetentionPolicy, calendarIn, describePolicy, groupSnapshots, isEmptyPolicy, isoWeek, parseGroupBy, parseRetentionDuration,
  subtractDuration, type RetentionPolicy,
} from '../../../engine/retention';

/** Snapshots named by their time, so expectations read as times. */
const snaps = (...times: string[]) => times.map((t) => ({ id: t, time: t.length === 16 ? `${t}:00Z` : t }));
const NOW = new Date('2030-01-01T00:00:00Z');
const keptIds = (times: string[], policy: RetentionPolicy, timeZone?: string) =>
  applyRetentionPolicy(snaps(...times), policy, { now: NOW, timeZone }).keep.map((k) => k.snapshot.id);
const d = (s: string) => parseRetentionDuration(s);

describe('restic\'s documented examples', () => {
  // restic docs, "Removing snapshots according to a policy": one backup every Sunday for 12 weeks.
  const sundays = ['2019-09-01', '2019-09-08', '2019-09-15', '2019-09-22', '2019-09-29', '2019-10-06', '2019-10-13',
    '2019-10-20', '2019-10-27', '2019-11-03', '2019-11-10', '2019-11-17'].map((day) => `${day}T11:00`);

  it('--keep-daily 4 keeps the last four Sundays and removes the other eight', () => {
    const r = applyRetentionPolicy(snaps(...sundays), { daily: 4 }, { now: NOW });
    expect(r.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ['2019-11-17T11:00', ['daily snapshot']],
      ['2019-11-10T11:00', ['daily snapshot']],
      ['2019-11-03T11:00', ['daily snapshot']],
      ['2019-10-27T11:00', ['daily snapshot']],
    ]);
    expect(r.remove.map((s) => s.id)).toEqual(sundays.slice(0, 8).reverse());
  });

  it('daily backups for 100 years with --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75', () => {
    // "would keep the most recent 7 daily snapshots and 4 last-day-of-the-week ones (since the 7
    // dailies already include 1 weekly). Additionally, 12 or 11 last-day-of-the-month snapshots ...
    // And finally 75 or 74 last-day-of-the-year snapshots".
    // The last backup is on a Sunday, the end of an ISO week, as the docs' count assumes.
    const times: string[] = [];
    for (let t = Date.UTC(1930, 0, 1, 3); t <= Date.UTC(2029, 11, 30, 3); t += 86_400_000) times.push(new Date(t).toISOString());
    const r = applyRetentionPolicy(snaps(...times), { daily: 7, weekly: 5, monthly: 12, yearly: 75 }, { now: NOW });
    const only = (reason: string) => r.keep.filter((k) => k.reasons.length === 1 && k.reasons[0] === reason).map((k) => new Date(k.snapshot.time));
    expect(r.keep.filter((k) => k.reasons.includes('daily snapshot'))).toHaveLength(7);
    expect(only('weekly snapshot')).toHaveLength(4);
    expect(only('weekly snapshot').every((t) => t.getUTCDay() === 0)).toBe(true); // Sundays end ISO weeks
    expect([11, 12]).toContain(only('monthly snapshot').length);
    expect(only('monthly snapshot').every((t) => new Date(t.getTime() + 86_400_000).getUTCDate() === 1)).toBe(true);
    expect([74, 75]).toContain(only('yearly snapshot').length);
    expect(only('yearly snapshot').every((t) => t.getUTCMonth() === 11 && t.getUTCDate() === 31)).toBe(true);
    // Every count is used up before the oldest snapshot: it goes.
    expect(r.keep.some((k) => k.reasons.some((x) => x.startsWith('oldest')))).toBe(false);
    expect(r.keep.length + r.remove.length).toBe(times.length);
  });
});

describe('bucket rules', () => {
  const cases: Array<[string, string[], RetentionPolicy, string[]]> = [
    ['keep-last keeps the N newest, whatever their times',
      ['2026-01-01T00:00', '2026-01-01T00:01', '2026-01-01T00:02', '2026-01-05T00:00'], { last: 2 },
      ['2026-01-05T00:00', '2026-01-01T00:02']],
    ['keep-last larger than the list keeps everything',
      ['2026-01-01T00:00', '2026-01-02T00:00'], { last: 5 }, ['2026-01-02T00:00', '2026-01-01T00:00']],
    ['hourly keeps the newest of each hour',
      ['2026-01-01T10:05', '2026-01-01T10:55', '2026-01-01T11:00', '2026-01-01T11:59', '2026-01-01T13:30'], { hourly: 3 },
      ['2026-01-01T13:30', '2026-01-01T11:59', '2026-01-01T10:55']],
    ['hours without snapshots do not count',
      ['2026-01-01T01:00', '2026-01-01T05:00', '2026-01-03T09:00'], { hourly: 2 }, ['2026-01-03T09:00', '2026-01-01T05:00']],
    ['daily keeps the newest of each day (00:00 to 23:59)',
      ['2026-02-01T00:00', '2026-02-01T23:59', '2026-02-02T00:00', '2026-02-02T12:00', '2026-02-04T08:00'], { daily: 2 },
      ['2026-02-04T08:00', '2026-02-02T12:00']],
    ['weekly weeks run Monday to Sunday',
      ['2026-11-22T23:59', '2026-11-23T00:00', '2026-11-29T23:59', '2026-11-30T00:00'], { weekly: 2 },
      ['2026-11-30T00:00', '2026-11-29T23:59']],
    ['weekly uses ISO weeks across the new year (2020-12-31 and 2021-01-03 are both week 53 of 2020)',
      ['2020-12-27T12:00', '2020-12-31T12:00', '2021-01-03T12:00', '2021-01-04T12:00'], { weekly: 2 },
      ['2021-01-04T12:00', '2021-01-03T12:00']],
    ['monthly keeps the newest of each month',
      ['2026-01-31T23:00', '2026-02-01T00:00', '2026-02-28T10:00', '2026-03-15T10:00', '2026-03-16T10:00'], { monthly: 3 },
      ['2026-03-16T10:00', '2026-02-28T10:00', '2026-01-31T23:00']],
    ['yearly keeps the newest of each year',
      ['2024-06-01T00:00', '2024-12-31T23:59', '2025-01-01T00:00', '2026-03-01T00:00'], { yearly: 2 },
      ['2026-03-01T00:00', '2025-01-01T00:00']],
    ['rules are ORed: a snapshot kept by any rule is kept, with every reason',
      ['2026-01-01T10:00', '2026-01-02T10:00', '2026-01-03T10:00', '2026-01-03T11:00'], { last: 1, daily: 2 },
      ['2026-01-03T11:00', '2026-01-02T10:00']],
    ['unlimited keeps one per bucket, for every bucket',
      ['2026-01-01T10:00', '2026-01-01T11:00', '2026-01-02T10:00', '2026-01-05T10:00'], { daily: 'unlimited' },
      ['2026-01-05T10:00', '2026-01-02T10:00', '2026-01-01T11:00', '2026-01-01T10:00']], // and the oldest: count is never used up
    ['a rule with count left at the oldest snapshot keeps it too (restic 0.17)',
      ['2026-01-01T10:00', '2026-01-01T11:00', '2026-01-02T10:00'], { daily: 10 },
      ['2026-01-02T10:00', '2026-01-01T11:00', '2026-01-01T10:00']],
    ['a count of 0 keeps nothing by that rule',
      ['2026-01-01T10:00', '2026-01-02T10:00'], { last: 0, daily: 1 }, ['2026-01-02T10:00']],
  ];
  it.each(cases)('%s', (_name, times, policy, expected) => {
    expect(keptIds(times, policy)).toEqual(expected);
  });

  it('gives every reason, and marks the oldest-snapshot rule', () => {
    const r = applyRetentionPolicy(snaps('2026-01-01T10:00', '2026-01-01T11:00', '2026-01-08T10:00'), { last: 1, daily: 5, weekly: 1 }, { now: NOW });
    expect(r.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ['2026-01-08T10:00', ['last snapshot', 'daily snapshot', 'weekly snapshot']],
      ['2026-01-01T11:00', ['daily snapshot']],
      ['2026-01-01T10:00', ['oldest daily snapshot']],
    ]);
    expect(r.remove).toEqual([]);
  });

  it('orders equal times by id, so the result does not depend on listing order', () => {
    const a = [{ id: 'bbbb', time: '2026-01-01T00:00:00Z' }, { id: 'aaaa', time: '2026-01-01T00:00:00Z' }];
    expect(applyRetentionPolicy(a, { last: 1 }).keep[0].snapshot.id).toBe('aaaa');
    expect(applyRetentionPolicy([...a].reverse(), { last: 1 }).keep[0].snapshot.id).toBe('aaaa');
  });
});

describe('time zones', () => {
  // 23:30 UTC on 1 March is 00:30 on 2 March in Paris.
  const times = ['2026-03-01T22:00', '2026-03-01T23:30', '2026-03-02T10:00'];
  it('buckets are UTC days by default', () => {
    expect(keptIds(times, { daily: 2 })).toEqual(['2026-03-02T10:00', '2026-03-01T23:30']);
  });
  it('and local days of the given zone when asked', () => {
    expect(keptIds(times, { daily: 2 }, 'Europe/Paris')).toEqual(['2026-03-02T10:00', '2026-03-01T22:00']);
  });
  it('refuses an unknown zone, naming it', () => {
    expect(() => calendarIn('Mars/Olympus')).toThrow(/Mars\/Olympus/);
    expect(calendarIn('local')(0).year).toBeGreaterThanOrEqual(1969);
  });
  it('computes ISO weeks', () => {
    for (const [day, week] of [['2021-01-03', 202053], ['2021-01-04', 202101], ['2019-12-30', 202001], ['2008-12-29', 200901],
      ['2010-01-03', 200953], ['2026-11-25', 202648], ['2020-12-31', 202053], ['2024-12-30', 202501]] as const) {
      const [y, m, dd] = day.split('-').map(Number);
      expect([day, isoWeek(y, m, dd)]).toEqual([day, week]);
    }
  });
});

describe('keep-within', () => {
  const times = ['2026-01-01T00:00', '2026-01-20T00:00', '2026-01-25T12:00', '2026-01-31T00:00', '2026-02-01T00:00'];
  it('counts back from the newest snapshot, not from now', () => {
    expect(keptIds(times, { within: d('7d') })).toEqual(['2026-02-01T00:00', '2026-01-31T00:00', '2026-01-25T12:00']);
    expect(keptIds(times, { within: d('6d12h') })).toEqual(['2026-02-01T00:00', '2026-01-31T00:00']);
  });
  it('is strict at the boundary (a snapshot exactly one duration older goes)', () => {
    expect(keptIds(['2026-01-01T00:00', '2026-01-02T00:00'], { within: d('1d') })).toEqual(['2026-01-02T00:00']);
  });
  it('ignores snapshots from the future when finding the newest, and keeps them', () => {
    const r = applyRetentionPolicy(snaps('2026-01-01T00:00', '2026-01-05T00:00', '2031-01-01T00:00'), { within: d('2d') }, { now: NOW });
    expect(r.keep.map((k) => k.snapshot.id)).toEqual(['2031-01-01T00:00', '2026-01-05T00:00']);
  });
  it('uses calendar months (31 March minus one month is 3 March, as in Go)', () => {
    expect(new Date(subtractDuration(Date.parse('2026-03-31T12:00:00Z'), d('1m'))).toISOString()).toBe('2026-03-03T12:00:00.000Z');
    expect(new Date(subtractDuration(Date.parse('2024-02-29T00:00:00Z'), d('1y'))).toISOString()).toBe('2023-03-01T00:00:00.000Z');
    expect(new Date(subtractDuration(Date.parse('2026-01-10T05:00:00Z'), d('1y2m3d4h'))).toISOString()).toBe('2024-11-07T01:00:00.000Z');
  });
  it('keeps bucketed snapshots within the duration (within-daily and friends)', () => {
    const many = ['2026-01-01T10:00', '2026-01-05T10:00', '2026-01-05T11:00', '2026-01-06T10:00', '2026-01-07T09:00', '2026-01-07T10:00'];
    expect(keptIds(many, { withinDaily: d('3d') })).toEqual(['2026-01-07T10:00', '2026-01-06T10:00', '2026-01-05T11:00']);
    const r = applyRetentionPolicy(snaps(...many), { withinWeekly: d('1y') }, { now: NOW });
    expect(r.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ['2026-01-07T10:00', ['weekly within 1y']],
      ['2026-01-01T10:00', ['weekly within 1y']],
    ]);
  });
});

describe('policy helpers', () => {
  it('parses restic durations and refuses others', () => {
    expect(d('1y5m7d2h')).toEqual({ years: 1, months: 5, days: 7, hours: 2 });
    expect(d('36h')).toEqual({ years: 0, months: 0, days: 0, hours: 36 });
    for (const bad of ['', '7', '1w', '2d3d', '-1d', '1.5d', 'd']) expect(() => parseRetentionDuration(bad, '--keep-within')).toThrow(/--keep-within/);
  });
  it('knows an empty policy', () => {
    expect(isEmptyPolicy({})).toBe(true);
    expect(isEmptyPolicy({ last: 0, daily: 0, within: d('0h') })).toBe(true);
    expect(isEmptyPolicy({ daily: 1 })).toBe(false);
    expect(isEmptyPolicy({ yearly: 'unlimited' })).toBe(false);
    expect(isEmptyPolicy({ withinMonthly: d('1y') })).toBe(false);
  });
  it('refuses counts that are not whole numbers', () => {
    expect(() => applyRetentionPolicy([], { daily: -1 })).toThrow(/keep daily/);
    expect(() => applyRetentionPolicy([], { last: 1.5 })).toThrow(/keep last/);
  });
  it('describes a policy', () => {
    expect(describePolicy({ daily: 7, weekly: 4, yearly: 'unlimited', within: d('1m') }))
      .toBe('keep 7 daily, 4 weekly, all yearly snapshots, all snapshots within 1m of the newest');
  });
  it('rejects a snapshot time that is not a time, naming the snapshot', () => {
    expect(() => applyRetentionPolicy([{ id: 'abcd', time: 'yesterday' }], { last: 1 })).toThrow(/abcd/);
  });
});

describe('grouping', () => {
  const s = (id: string, hostname: string, location: string, tags: Record<string, string> = {}) => ({ id, time: '2026-01-01T00:00:00Z', hostname, source: { location }, tags });
  const all = [s('1', 'a', '/x'), s('2', 'b', '/x'), s('3', 'a', '/y', { env: 'prod' }), s('4', 'a', '/x', { env: 'prod' })];
  const ids = (fields: string) => groupSnapshots(all, parseGroupBy(fields)).map((g) => [g.key, g.snapshots.map((x) => x.id)]);

  it('groups by host and location by default ("source")', () => {
    expect(ids('source')).toEqual([
      [{ hostname: 'a', location: '/x' }, ['1', '4']],
      [{ hostname: 'b', location: '/x' }, ['2']],
      [{ hostname: 'a', location: '/y' }, ['3']],
    ]);
  });
  it('by host, by tags, by combinations, or not at all', () => {
    expect(ids('host')).toEqual([[{ hostname: 'a' }, ['1', '3', '4']], [{ hostname: 'b' }, ['2']]]);
    expect(ids('tags')).toEqual([[{ tags: {} }, ['1', '2']], [{ tags: { env: 'prod' } }, ['3', '4']]]);
    expect(ids('host,tags')).toHaveLength(3);
    expect(ids('none')).toEqual([[{}, ['1', '2', '3', '4']]]);
  });
  it('refuses an unknown field', () => {
    expect(() => parseGroupBy('paths')).toThrow(/--group-by.*paths/);
  });
});

describe('properties', () => {
  // xorshift: reproducible random snapshot sets and policies.
  let x = 12345;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  it('partitions the input, always keeps the newest, and never keeps more than the counts allow', () => {
    for (let round = 0; round < 300; round++) {
      const count = rnd(60);
      const times = Array.from({ length: count }, () => new Date(Date.UTC(2024, 0, 1) + rnd(3 * 365 * 24) * 3_600_000 + rnd(3_600_000)).toISOString());
      const list = times.map((t, i) => ({ id: `s${i}`, time: t }));
      const policy: RetentionPolicy = { last: rnd(4), hourly: rnd(4), daily: rnd(6), weekly: rnd(4), monthly: rnd(4), yearly: rnd(3) };
      const r = applyRetentionPolicy(list, policy, { now: NOW });
      const kept = new Set(r.keep.map((k) => k.snapshot.id));
      expect(kept.size + r.remove.length).toBe(count);
      expect(r.remove.every((s) => !kept.has(s.id))).toBe(true);
      const active = Object.values(policy).filter((n) => (n as number) > 0).length;
      const bound = Object.values(policy).reduce<number>((n, c) => n + (c as number), 0) + active; // + the oldest, once per rule
      expect(kept.size).toBeLessThanOrEqual(bound);
      if (count > 0 && active > 0) {
        const newest = [...list].sort((a, b) => b.time.localeCompare(a.time) || a.id.localeCompare(b.id))[0];
        expect(kept.has(newest.id)).toBe(true);
      }
      // Each keep-last keeps exactly min(N, count) snapshots with that reason.
      expect(r.keep.filter((k) => k.reasons.includes('last snapshot'))).toHaveLength(Math.min(policy.last as number, count));
    }
  });
});
