/**
 * The engine-facing lifecycle of a BackupSource, as the dynamic provider drives it, without the
 * Pulumi CLI (issue: "Lifecycle test"): create → diff (no change) → advance the clock past the RPO →
 * diff (backup due) → update (backup taken, retention applied) → a snapshot deleted from the store →
 * read/diff show the drift → restore. Against the Scaleway API emulator and the local S3 server.
 */
import { removeSnapshots } from '../../engine';
import { withStore, type ScalewayConnection, type StoreConnection } from '../../provider/connection';
import { restoreFromSource, runDrill } from '../../provider/restore-ops';
import { backupSource, createSource, diffSource, readSource, refreshSource, updateSource, type BackupSourceInputs } from '../../provider/source-ops';
import type { Rig } from '../emulator/harness';
import { prng } from '../helpers';
import { overrides, startProviderRig } from './provider-rig';

const MiB = 1024 * 1024;
const HOUR = 3600_000;
let rig: Rig;
let store: StoreConnection;
let scaleway: ScalewayConnection;

beforeAll(async () => {
  ({ rig, store, scaleway } = await startProviderRig('production', 'a long passphrase for the lifecycle test'));
});

afterAll(async () => {
  await rig?.stop();
});

test('create, diff, due, update with retention, drift, restore', async () => {
  const volume = await rig.emulator.createVolume({ name: 'orders-db', size: 8 * MiB, bytes: prng(61)(2 * MiB) });
  const inputs: BackupSourceInputs = {
    kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, store, scaleway,
    environment: 'production', dataClass: 'critical', schedule: '4h', retention: { last: 2 },
  };

  // create: the source exists, the first backup is taken.
  const created = await createSource(inputs, overrides);
  expect(created).toMatchObject({ status: 'ok', snapshotCount: 1, location: `scaleway-block://fr-par-1/${volume.id}` });
  expect(created.lastSnapshotId).toMatch(/^[0-9a-f]{64}$/);
  expect(created.bytesNew).toBeGreaterThan(MiB);

  // diff right away: nothing to do.
  expect(await diffSource(created, inputs, new Date())).toEqual({ reasons: [], replaces: [], backup: false, drift: [] });
  // Past the RPO: a backup is due, with the reason spelled out (and since when the RPO is missed).
  const later = new Date(Date.now() + 5 * HOUR);
  const due = await diffSource(created, inputs, later);
  expect(due.reasons).toHaveLength(1);
  expect(due.reasons[0]).toMatch(/^backup due: the newest snapshot is from .*, schedule 4h; past its RPO \(4h\) since \S+Z$/);

  // update: the backup is taken; with keep-last 2 the store keeps two after three backups.
  await rig.emulator.writeVolume(volume.id, 0, prng(62)(64 * 1024));
  const second = await backupSource(inputs, overrides);
  expect(second.snapshotCount).toBe(2);
  expect(second.lastSnapshotId).not.toBe(created.lastSnapshotId);
  expect(second.bytesNew).toBeLessThanOrEqual(128 * 1024);
  const third = await backupSource(inputs, overrides);
  expect(third.snapshotCount).toBe(2);
  expect(await diffSource(third, inputs, new Date())).toEqual({ reasons: [], replaces: [], backup: false, drift: [] });

  // Changed inputs call for an update; another volume is a replacement.
  expect((await diffSource(third, { ...inputs, retention: { last: 3 } }, new Date())).reasons).toEqual(['retention changed']);
  expect((await diffSource(third, { ...inputs, resourceId: '00000000-0000-4000-8000-000000000001' }, new Date())).replaces).toEqual(['resourceId']);

  // Someone deletes the last snapshot from the store: read and diff show the drift.
  await withStore(store, (repo) => removeSnapshots(repo, [third.lastSnapshotId as string]));
  const refreshed = await refreshSource(third);
  expect(refreshed.status).toBe('missing-from-store');
  expect(refreshed.snapshotCount).toBe(1);
  const drift = await diffSource(third, inputs, new Date());
  expect(drift.reasons).toContain(`the last snapshot ${(third.lastSnapshotId as string).slice(0, 12)} is missing from the store`);

  // Restore the latest remaining snapshot as a new volume: its bytes are that snapshot's.
  const view = await readSource(inputs);
  const restored = await restoreFromSource({ source: inputs, name: 'orders-db-drill' }, overrides);
  expect(restored.snapshotId).toBe(view.lastSnapshotId);
  expect(restored.volumeIds).toHaveLength(1);
  expect(rig.emulator.volumeInfo(restored.volumeIds[0])).toMatchObject({ name: 'orders-db-drill', size: 8 * MiB });
  expect((await rig.emulator.readVolume(restored.volumeIds[0])).equals(await rig.emulator.readVolume(volume.id))).toBe(true);

  // A restore drill: scratch volume, every byte compared with the store, RTO reported and recorded, scratch removed.
  const volumesBefore = (await rig.block.listVolumes({ includeDeleted: false })).totalCount;
  const drill = await runDrill({ source: inputs, runId: '2026-11' }, overrides);
  expect(drill).toMatchObject({ snapshotId: view.lastSnapshotId, verifiedBytes: 8 * MiB, runId: '2026-11' });
  expect(drill.chunks).toBeGreaterThan(0);
  expect(drill.rtoMs).toBeGreaterThan(0);
  expect((await rig.block.listVolumes({ includeDeleted: false })).totalCount).toBe(volumesBefore);
  expect((await rig.block.listSnapshots({ includeDeleted: false, tags: ['scw-backup:staging'] })).snapshots).toEqual([]);
}, 120_000);

test('create refuses bad inputs and a missing source with errors naming them; backupOnCreate false takes no backup', async () => {
  const base: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: '00000000-0000-4000-8000-0000000000cc', bucket: rig.bucket, store, scaleway, schedule: '24h' };
  await expect(createSource({ ...base, zone: 'paris' }, overrides)).rejects.toThrow(/^zone: "paris" is not a Scaleway zone/);
  await expect(createSource({ ...base, schedule: 'hourly' }, overrides)).rejects.toThrow(/^schedule: "hourly" is neither an RPO/);
  await expect(createSource(base, overrides)).rejects.toThrow('volume 00000000-0000-4000-8000-0000000000cc does not exist in zone fr-par-1');
  const volume = await rig.emulator.createVolume({ name: 'later', size: MiB });
  const r = await createSource({ ...base, resourceId: volume.id, backupOnCreate: false }, overrides);
  expect(r).toMatchObject({ status: 'no-backup-yet', snapshotCount: 0 });
  expect((await diffSource(r, { ...base, resourceId: volume.id }, new Date())).reasons).toEqual(['backup due: no snapshot in the store yet']);
}, 60_000);

test('runner "job": Pulumi takes no backup, and alarms only when a whole period passed without one', async () => {
  const volume = await rig.emulator.createVolume({ name: 'job-run', size: 2 * MiB, bytes: prng(63)(MiB) });
  const inputs: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, store, scaleway, schedule: '4h', runner: 'job' };
  const created = await createSource(inputs, overrides);
  expect(created).toMatchObject({ status: 'no-backup-yet', snapshotCount: 0 });
  expect(created.watchingSince).toBeDefined();
  // Due after 4 h, but the job has until 8 h before Pulumi calls it overdue.
  expect((await diffSource(created, inputs, new Date(Date.now() + 5 * HOUR))).reasons).toEqual([]);
  expect((await diffSource(created, inputs, new Date(Date.now() + 9 * HOUR))).reasons[0]).toMatch(/^backup overdue: the scheduled job has taken none since /);
  // The job's backup (what `scw-backup run` does), then an update only refreshes the view.
  await backupSource(inputs, overrides);
  const updated = await updateSource(created, inputs, overrides);
  expect(updated).toMatchObject({ status: 'ok', snapshotCount: 1, watchingSince: created.watchingSince });
  expect((await diffSource(updated, inputs, new Date(Date.now() + 5 * HOUR))).reasons).toEqual([]);
}, 60_000);
