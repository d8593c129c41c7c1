/**
 * A restore drill to a scratch Block volume against the emulator: the volume is restored, compared
 * byte for byte through its export, deleted, and the drill recorded in the store; a drill whose
 * import fails is recorded as failed and leaves no volume behind.
 */
import { join } from 'node:path';
import { initRepository, listDrills, type Repository, type Snapshot } from '../../../engine';
import { DRILL_TAG, backupBlockVolume, drillVolume } from '../../../engine/scaleway';
import { PASS, TEST_INIT, prng, steppingClock, tempDir } from '../../helpers';
import { startScalewayRig, type ScalewayTestRig } from './scaleway-rig';

const MiB = 1024 * 1024;
const FAST = { default: { minDelayMs: 5, maxDelayMs: 40, timeoutMs: 20_000 } };

let dir: { path: string; cleanup: () => Promise<void> };
let setup: ScalewayTestRig;
let repo: Repository;
let snapshot: Snapshot;

beforeAll(async () => {
  dir = await tempDir('scwb-drill-vol-');
  setup = await startScalewayRig();
  repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
  const bytes = Buffer.alloc(4 * MiB);
  prng(9)(MiB).copy(bytes, MiB);
  const volume = await setup.rig.emulator.createVolume({ name: 'orders-db', bytes, size: 4 * MiB });
  snapshot = (await backupBlockVolume(repo, setup.clients, setup.staging, { zone: 'fr-par-1', volumeId: volume.id, bucket: setup.rig.bucket, timeouts: FAST })).snapshot;
});
afterAll(async () => {
  await setup?.stop();
  await dir?.cleanup();
});

const drillVolumes = (): string[] => setup.rig.emulator.list().volumes.filter((v) => v.tags?.includes(DRILL_TAG)).map((v) => v.id);

it('restores to a scratch volume, verifies every byte, deletes it and records the RTO', async () => {
  const r = await drillVolume(repo, setup.clients, setup.staging, {
    snapshot, zone: 'fr-par-1', bucket: setup.rig.bucket, timeouts: FAST, clock: steppingClock('2026-11-20T08:00:00.000Z', 240_000),
  });
  expect(r.record).toMatchObject({
    snapshot: snapshot.id, source: { location: snapshot.source.location }, target: 'scaleway-block', result: 'passed',
    started: '2026-11-20T08:00:00.000Z', bytesVerified: 4 * MiB,
  });
  // The stepping clock is also read once to name the volume: the RTO spans two steps.
  expect(r.record.rtoSeconds).toBe(480);
  expect(r.volumeId).toBeDefined();
  expect(drillVolumes()).toEqual([]);
  expect(await setup.bucketKeys()).toEqual([]);
  expect((await listDrills(repo)).drills.map((d) => d.id)).toEqual([r.id]);
}, 120_000);

it('a drill whose import fails is recorded as failed and leaves no volume', async () => {
  setup.rig.emulator.faults.failNextOperation('import-error');
  try {
    const r = await drillVolume(repo, setup.clients, setup.staging, { snapshot, zone: 'fr-par-1', bucket: setup.rig.bucket, timeouts: FAST });
    expect(r.record).toMatchObject({ result: 'failed', rtoSeconds: null, target: 'scaleway-block' });
    expect(r.record.error?.code).toMatch(/^SCW_/);
    expect(drillVolumes()).toEqual([]);
    expect((await listDrills(repo)).drills.map((d) => d.result)).toEqual(['passed', 'failed']);
  } finally {
    setup.rig.emulator.faults.clear();
  }
}, 120_000);
