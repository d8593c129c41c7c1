/**
 * Drift between what a BackupSource's state promises and what the store holds (provider/source-drift.ts),
 * on plain data: the retention applied to the promised and the held snapshots says which must be there.
 */
import { dueReason, keptNow, storeDrift } from '../../provider/source-drift';
import type { BackupSourceInputs, BackupSourceOutputs, RetainedSnapshot } from '../../provider/source-inputs';

const snap = (id: string, time: string): RetainedSnapshot => ({ id: id.padEnd(64, '0'), time });
const s1 = snap('a1', '2026-11-20T02:00:00.000Z');
const s2 = snap('b2', '2026-11-21T02:00:00.000Z');
const s3 = snap('c3', '2026-11-22T02:00:00.000Z');
const now = new Date('2026-11-22T05:00:00Z');

const inputs = { kind: 'volume', zone: 'fr-par-1', resourceId: '00000000-0000-4000-8000-000000000001', schedule: '24h' } as BackupSourceInputs;
const state = (retained: RetainedSnapshot[], extra: Partial<BackupSourceOutputs> = {}): BackupSourceOutputs => ({
  ...inputs, location: 'scaleway-block://fr-par-1/x', snapshotCount: retained.length, status: 'ok',
  lastSnapshotId: retained[0]?.id, lastSnapshotTime: retained[0]?.time, retained, ...extra,
});
const ids = (...list: RetainedSnapshot[]) => new Set(list.map((s) => s.id));

describe('storeDrift', () => {
  it('nothing when the store holds what retention keeps', () => {
    const i = { ...inputs, retention: { daily: 7 } };
    expect(storeDrift(state([s3, s2, s1]), i, { held: [s3, s2, s1], presentIds: ids(s3, s2, s1), damaged: [] }, now)).toEqual([]);
  });

  it('an older snapshot deleted: counts per rule, the oldest kept, and which is missing', () => {
    const i = { ...inputs, retention: { daily: 7, weekly: 4 } };
    expect(storeDrift(state([s3, s2, s1]), i, { held: [s3, s1], presentIds: ids(s3, s1), damaged: [] }, now)).toEqual([
      'retention (keep 7 daily, 4 weekly snapshots) keeps 3 snapshots (daily 3, weekly 2; oldest 2026-11-20T02:00:00.000Z); '
      + 'the store holds 2 of them: b20000000000 is missing',
    ]);
  });

  it('what retention would have forgotten by now anyway is no drift', () => {
    // keep-last 2: once c3 exists, a1 goes; its absence is what forget does.
    const i = { ...inputs, retention: { last: 2 } };
    expect(storeDrift(state([s2, s1]), i, { held: [s3, s2], presentIds: ids(s3, s2), damaged: [] }, now)).toEqual([]);
  });

  it('without retention every snapshot is promised', () => {
    expect(storeDrift(state([s2, s1]), inputs, { held: [s2], presentIds: ids(s2), damaged: [] }, now)).toEqual([
      'retention (none: keep every snapshot) keeps 2 snapshots (no retention 2; oldest 2026-11-20T02:00:00.000Z); the store holds 1 of them: a10000000000 is missing',
    ]);
  });

  it('the last snapshot missing is said once, as such', () => {
    const i = { ...inputs, retention: { daily: 7 } };
    expect(storeDrift(state([s3, s2]), i, { held: [s2], presentIds: ids(s2), damaged: [] }, now)).toEqual(['the last snapshot c30000000000 is missing from the store']);
  });

  it('a state a refresh marked missing-from-store (an earlier version moved lastSnapshotId on) is still drift', () => {
    expect(storeDrift(state([], { status: 'missing-from-store' }), inputs, { held: [], presentIds: ids(), damaged: [] }, now)).toEqual([
      'a refresh found snapshots lost from the store (status missing-from-store)',
    ]);
  });

  it('a promised snapshot whose manifest no longer reads is lost too, and said so', () => {
    const i = { ...inputs, retention: { daily: 7 } };
    const damaged = [{ id: s2.id, kind: 'unreadable' as const, message: 'snapshots/b2... is damaged' }];
    expect(storeDrift(state([s3, s2, s1]), i, { held: [s3, s1], presentIds: ids(s3, s1), damaged }, now)).toEqual([
      expect.stringMatching(/the store holds 2 of them: b20000000000 is damaged$/),
    ]);
    expect(storeDrift(state([s3, s2]), i, { held: [s2], presentIds: ids(s2), damaged: [{ id: s3.id, kind: 'invalid' as const, message: 'bad' }] }, now))
      .toEqual(['the last snapshot c30000000000 is damaged in the store (bad)']);
  });
});

describe('keptNow', () => {
  it('renews the promise from the promised and the held snapshots, newest first', () => {
    const kept = keptNow({ retention: { last: 2 } }, [s2, s1], [s3], now).map((k) => k.snapshot.id);
    expect(kept).toEqual([s3.id, s2.id]);
  });
});

describe('dueReason', () => {
  it('says when and why, and with a cadence takes the backup before the deadline', () => {
    const last = new Date('2026-11-22T02:00:30Z');
    expect(dueReason(state([]), { ...inputs, schedule: '4h' }, last, new Date('2026-11-22T06:00:10Z'))).toBeUndefined();
    expect(dueReason(state([]), { ...inputs, schedule: '4h', cadence: '0 * * * *' }, last, new Date('2026-11-22T06:00:10Z')))
      .toBe('backup due: the newest snapshot is from 2026-11-22T02:00:30.000Z, schedule 4h, and the next run (cadence 0 * * * *) would be too late');
    expect(dueReason(state([]), inputs, undefined, now)).toBe('backup due: no snapshot in the store yet');
  });

  it('past the RPO, says so as rpoMet false and the report do: since the newest backup\'s deadline', () => {
    const last = new Date('2026-11-22T02:00:30Z');
    const i = { ...inputs, schedule: '4h' };
    expect(dueReason(state([]), i, last, new Date('2026-11-22T06:00:30Z'))).toBe('backup due: the newest snapshot is from 2026-11-22T02:00:30.000Z, schedule 4h');
    expect(dueReason(state([]), i, last, new Date('2026-11-22T06:00:31Z')))
      .toBe('backup due: the newest snapshot is from 2026-11-22T02:00:30.000Z, schedule 4h; past its RPO (4h) since 2026-11-22T06:00:30.000Z');
    // A cron schedule is due at its next time; its RPO is its longest interval: a daily one's, a day.
    const cron = { ...inputs, schedule: '0 3 * * *' };
    expect(dueReason(state([]), cron, last, new Date('2026-11-22T03:30:00Z'))).toBe('backup due: the newest snapshot is from 2026-11-22T02:00:30.000Z, schedule 0 3 * * *');
    expect(dueReason(state([]), cron, last, new Date('2026-11-23T02:00:31Z')))
      .toBe('backup due: the newest snapshot is from 2026-11-22T02:00:30.000Z, schedule 0 3 * * *; past its RPO (1d) since 2026-11-23T02:00:30.000Z');
  });
});
