/**
 * The compliance facts for Pulumi (provider/compliance.ts) against the emulator and the local S3
 * server: a source's last backup age and RPO, a recorded drill (passed, then failed), and the facts
 * that follow from them.
 */
import { listDrills } from '../../engine';
import { complianceOf, rpoOfSchedule, runRecordedDrill } from '../../provider/compliance';
import { withStore, type ScalewayConnection, type StoreConnection } from '../../provider/connection';
import { parseSchedule } from '../../provider/schedule';
import { backupSource, type BackupSourceInputs } from '../../provider/source-ops';
import type { Rig } from '../emulator/harness';
import { prng } from '../helpers';
import { overrides, startProviderRig } from './provider-rig';

const MiB = 1024 * 1024;
const HOUR = 3600_000;
let rig: Rig;
let store: StoreConnection;
let scaleway: ScalewayConnection;

beforeAll(async () => {
  ({ rig, store, scaleway } = await startProviderRig('compliance', 'a long passphrase for the compliance test'));
});

afterAll(async () => {
  await rig?.stop();
});

test('rpoOfSchedule: an RPO is itself, a cron schedule its longest interval', () => {
  expect(rpoOfSchedule(parseSchedule('4h'))).toEqual({ seconds: 4 * 3600, text: '4h' });
  expect(rpoOfSchedule(parseSchedule('0 3 * * *')).seconds).toBe(86400);
});

test('last backup age against the RPO, and the last drill, passed then failed, each recorded', async () => {
  const volume = await rig.emulator.createVolume({ name: 'ledger', size: 4 * MiB, bytes: prng(71)(MiB) });
  const inputs: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, store, scaleway, schedule: '4h' };
  expect(await complianceOf(inputs)).toEqual({ lastBackupAgeSeconds: null, rpoMet: null, lastDrillResult: 'missing', lastDrillRtoSeconds: null, lastDrillTime: null });

  await backupSource(inputs, overrides);
  const fresh = await complianceOf(inputs);
  expect(fresh).toMatchObject({ rpoMet: true, lastDrillResult: 'missing' });
  expect(fresh.lastBackupAgeSeconds).toBeLessThan(60);
  expect(await complianceOf(inputs, new Date(Date.now() + 5 * HOUR))).toMatchObject({ rpoMet: false });

  const drill = await runRecordedDrill({ source: inputs, runId: '2026-12' }, overrides);
  expect(drill).toMatchObject({ result: 'passed', verifiedBytes: 4 * MiB, runId: '2026-12' });
  expect(drill.chunks).toBeGreaterThan(0);
  const after = await complianceOf(inputs);
  expect(after).toMatchObject({ lastDrillResult: 'passed' });
  // rtoMs is the record's RTO rounded to the millisecond.
  expect(after.lastDrillRtoSeconds).toBeCloseTo(drill.rtoMs / 1000, 2);

  rig.emulator.faults.failNextOperation('import-error');
  try {
    await expect(runRecordedDrill({ source: inputs, runId: '2026-12b' }, overrides)).rejects.toThrow(/^restore drill of snapshot [0-9a-f]{12} failed: .*\(recorded as drills\/[0-9a-f]{12}\)$/);
  } finally {
    rig.emulator.faults.clear();
  }
  expect(await complianceOf(inputs)).toMatchObject({ lastDrillResult: 'failed', lastDrillRtoSeconds: null });
  const drills = await withStore(store, (repo) => listDrills(repo));
  expect(drills.drills.map((d) => [d.id === drill.drillId, d.result])).toEqual([[true, 'passed'], [false, 'failed']]);
}, 120_000);
