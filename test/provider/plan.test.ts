import { parsePlan, parseShard, planCadence, shardOf, type Plan } from '../../provider/plan';

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const plan = (n: number): Plan => ({
  version: 1,
  store: { url: 's3://backups/fleet' },
  scaleway: { projectId: uuid(999) },
  sources: Array.from({ length: n }, (_, i) => ({ name: `vm-${i}`, kind: 'volume' as const, zone: 'fr-par-1', resourceId: uuid(i), bucket: 'staging', schedule: '24h' })),
});

describe('plans', () => {
  it('parses a valid plan and names the field of an invalid one', () => {
    expect(parsePlan(plan(3))).toEqual(plan(3));
    const bad = plan(3) as unknown as { sources: Array<Record<string, unknown>> };
    bad.sources[2].zone = 'paris';
    expect(() => parsePlan(bad, 'fleet.json')).toThrow(/^fleet\.json: sources\[2\]\.zone: a Scaleway zone such as fr-par-1$/);
    const badSchedule = plan(2);
    badSchedule.sources[1].schedule = 'weekly';
    expect(() => parsePlan(badSchedule, 'fleet.json')).toThrow(/^fleet\.json: sources\[1\]\.schedule: "weekly" is neither an RPO/);
    const twice = plan(2);
    twice.sources[1].name = 'vm-0';
    expect(() => parsePlan(twice, 'fleet.json')).toThrow('fleet.json: sources[1].name: "vm-0" is used twice');
    expect(() => parsePlan({ ...plan(1), extra: true }, 'fleet.json')).toThrow(/^fleet\.json: \(top level\): /);
  });

  it('takes the cadence it runs at, and refuses a source whose RPO it cannot meet, naming it', () => {
    const hourly = { ...plan(2), cadence: { schedule: '0 * * * *' } };
    expect(parsePlan(hourly)).toEqual(hourly);
    expect(planCadence(hourly)).toEqual({ kind: 'cron', text: '0 * * * *', timeZone: 'UTC' });
    expect(planCadence(plan(1))).toBeUndefined();
    // Daily jobs meet a 24h RPO in UTC; in Paris, daylight saving time makes one gap 25h.
    const daily = { ...plan(2), cadence: { schedule: '0 3 * * *' } };
    expect(parsePlan(daily)).toEqual(daily);
    daily.sources[1] = { ...daily.sources[1], schedule: '4h' };
    expect(() => parsePlan(daily, 'fleet.json')).toThrow('fleet.json: sources[1].schedule: vm-1: jobs started on "0 3 * * *" (up to 1d apart) '
      + 'cannot meet the RPO 4h: run at least every 4h, or lengthen the schedule');
    expect(() => parsePlan({ ...plan(1), cadence: { schedule: '0 3 * * *', timeZone: 'Europe/Paris' } }, 'fleet.json'))
      .toThrow(/^fleet\.json: sources\[0\]\.schedule: vm-0: jobs started on "0 3 \* \* \*" \(up to 1d 1h apart\) cannot meet the RPO 24h/);
    expect(() => parsePlan({ ...plan(1), cadence: { schedule: 'often' } }, 'fleet.json')).toThrow(/^fleet\.json: cadence\.schedule: "often" is neither/);
  });

  it('reads I/N and refuses anything else', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', 'a/b', '2']) expect(() => parseShard(bad)).toThrow(/^--shard: /);
  });

  it('splits the fleet: every source in exactly one shard, whatever the order, stable when sources are added', () => {
    const p = plan(100);
    const shards = [1, 2, 3, 4].map((index) => shardOf(p, { index, count: 4 }).map((s) => s.name));
    const all = shards.flat();
    expect(all.length).toBe(100);
    expect(new Set(all).size).toBe(100);
    for (const s of shards) expect(s.length).toBeGreaterThan(10); // roughly even
    const reversed = { ...p, sources: [...p.sources].reverse() };
    expect([1, 2, 3, 4].map((index) => shardOf(reversed, { index, count: 4 }).map((s) => s.name).sort())).toEqual(shards.map((s) => [...s].sort()));
    const grown = plan(120);
    const before = new Map(shards.flatMap((s, i) => s.map((n) => [n, i] as const)));
    [1, 2, 3, 4].forEach((index) => {
      for (const s of shardOf(grown, { index, count: 4 })) if (before.has(s.name)) expect(before.get(s.name)).toBe(index - 1);
    });
  });
});
