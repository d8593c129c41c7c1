/**
 * The compliance facts in Pulumi (provider/compliance.ts) against the emulator and the local S3
 * server: a BackupSource's outputs (create, update, refresh) carry the report's row for its source
 * (the RPO and when it runs out, whether it is met, the last drill), stable between refreshes, and
 * tell the story diff tells; a RestoreDrill's drill (restore-ops.ts runDrill) writes the record that
 * `scw-backup drills` lists, a failed one too, before failing.
 */
import { collectReport, listDrills, listSnapshots, sourceCompliance } from '../../engine';
import { complianceOf, rpoOfSchedule } from '../../provider/compliance';
import { withStore, type ScalewayConnection, type StoreConnection } from '../../provider/connection';
import { DrillFailedError, runDrill } from '../../provider/restore-ops';
import { parseSchedule } from '../../provider/schedule';
import { createSource, diffSource, refreshSource, updateSource, type BackupSourceInputs } from '../../provider/source-ops';
import type { Rig } from '../emulator/harness';
import { prng } from '../helpers';
import { overrides, startProviderRig } from './provider-rig';

const MiB = 1024 * 1024;
const HOUR = 3600_000;
const COMPLIANCE_KEYS = ['rpoSeconds', 'rpoDeadline', 'rpoMet', 'lastDrillResult', 'lastDrillId', 'lastDrillRtoSeconds', 'lastDrillTime'];
let rig: Rig;
let store: StoreConnection;
let scaleway: ScalewayConnection;

beforeAll(async () => {
  ({ rig, store, scaleway } = await startProviderRig('compliance', 'a long passphrase for the compliance test'));
});

afterAll(async () => {
  await rig?.stop();
});

const later = (ms: number): Date => new Date(Date.now() + ms);
const pick = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([k]) => COMPLIANCE_KEYS.includes(k)));

test('rpoOfSchedule: an RPO is itself, a cron schedule its longest interval', () => {
  expect(rpoOfSchedule(parseSchedule('4h'))).toEqual({ seconds: 4 * 3600, text: '4h' });
  expect(rpoOfSchedule(parseSchedule('0 3 * * *')).seconds).toBe(86400);
});

test('complianceOf: nothing before a backup; the age against the RPO after one', async () => {
  const volume = await rig.emulator.createVolume({ name: 'ledger', size: 4 * MiB, bytes: prng(71)(MiB) });
  const inputs: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, store, scaleway, schedule: '4h' };
  expect(await complianceOf(inputs)).toEqual({
    rpoSeconds: 4 * 3600, rpoDeadline: null, rpoMet: null, lastBackupAgeSeconds: null,
    lastDrillResult: 'missing', lastDrillId: null, lastDrillRtoSeconds: null, lastDrillTime: null,
  });
  await createSource(inputs, overrides);
  const fresh = await complianceOf(inputs);
  expect(fresh).toMatchObject({ rpoMet: true, lastDrillResult: 'missing' });
  expect(fresh.lastBackupAgeSeconds).toBeLessThan(60);
  expect(await complianceOf(inputs, later(5 * HOUR))).toMatchObject({ rpoMet: false });
}, 60_000);

test('BackupSource outputs carry the facts, stable between refreshes, and rpoMet false is what diff says too', async () => {
  const volume = await rig.emulator.createVolume({ name: 'orders', size: 4 * MiB, bytes: prng(73)(MiB) });
  const inputs: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, store, scaleway, schedule: '4h' };
  const created = await createSource(inputs, overrides);
  const deadline = new Date(Date.parse(created.lastSnapshotTime as string) + 4 * HOUR).toISOString();
  expect(pick(created)).toEqual({
    rpoSeconds: 4 * 3600, rpoDeadline: deadline, rpoMet: true,
    lastDrillResult: 'missing', lastDrillId: null, lastDrillRtoSeconds: null, lastDrillTime: null,
  });

  // No running age: refreshes within the RPO give the same outputs, so `pulumi refresh` shows no change.
  const r1 = await refreshSource(created, later(HOUR));
  expect(r1).toEqual(created);
  expect(await refreshSource(r1, later(3 * HOUR))).toEqual(r1);
  expect((await diffSource(r1, inputs, later(3 * HOUR))).reasons).toEqual([]);

  // Past the RPO: the refresh says rpoMet false, the preview's diff says the backup is past its RPO since the deadline.
  const overdue = await refreshSource(r1, later(5 * HOUR));
  expect(pick(overdue)).toMatchObject({ rpoMet: false, rpoDeadline: deadline });
  expect((await diffSource(overdue, inputs, later(5 * HOUR))).reasons).toEqual([expect.stringMatching(new RegExp(`^backup due: .*; past its RPO \\(4h\\) since ${deadline}$`))]);
  // The report's rule, on the same store, agrees.
  const report = await withStore(store, (repo) => sourceCompliance(repo, overdue.location, { rpo: { seconds: 4 * 3600, text: '4h' }, now: later(5 * HOUR).getTime() }));
  expect(report).toMatchObject({ rpoMet: false, drillStatus: 'missing' });

  // The drill RestoreDrill runs: its record is in the store, and the source's next read shows it.
  const drill = await runDrill({ source: inputs, runId: '2026-12' }, overrides);
  expect(drill).toMatchObject({ result: 'passed', verifiedBytes: 4 * MiB, runId: '2026-12', snapshotId: created.lastSnapshotId });
  expect(drill.drillId).toMatch(/^[0-9a-f]{64}$/);
  expect(drill.rtoMs).toBe(Math.round(drill.rtoSeconds * 1000));
  const listed = (await withStore(store, (repo) => listDrills(repo, { sources: [created.location] }))).drills;
  expect(listed.map((d) => [d.id, d.result, d.rtoSeconds, d.started, d.target])).toEqual([[drill.drillId, 'passed', drill.rtoSeconds, drill.started, 'scaleway-block']]);
  const drilled = await refreshSource(overdue);
  expect(pick(drilled)).toEqual({
    rpoSeconds: 4 * 3600, rpoDeadline: deadline, rpoMet: true,
    lastDrillResult: 'passed', lastDrillId: drill.drillId, lastDrillRtoSeconds: drill.rtoSeconds, lastDrillTime: drill.started,
  });

  // A failed drill is recorded as failed, then fails; update's outputs (and the report) say so.
  rig.emulator.faults.failNextOperation('import-error');
  let failed: unknown;
  try {
    failed = await runDrill({ source: inputs, runId: '2026-12b' }, overrides).catch((err: unknown) => err);
  } finally {
    rig.emulator.faults.clear();
  }
  expect(failed).toBeInstanceOf(DrillFailedError);
  expect((failed as DrillFailedError).message).toMatch(/^restore drill of snapshot [0-9a-f]{12} failed: .*\(recorded as drills\/[0-9a-f]{12}; "scw-backup drills" lists it\)$/);
  const after = (await withStore(store, (repo) => listDrills(repo, { sources: [created.location] }))).drills;
  expect(after.map((d) => d.result)).toEqual(['passed', 'failed']);
  expect(after[1].id).toBe((failed as DrillFailedError).drillId);
  const updated = await updateSource(drilled, inputs, overrides);
  expect(pick(updated)).toMatchObject({ rpoMet: true, lastDrillResult: 'failed', lastDrillId: after[1].id, lastDrillRtoSeconds: null, lastDrillTime: after[1].started });
  expect(pick(updated)).toEqual(pick(await complianceOf(inputs)));

  // The report without a plan reads the RPO from the snapshots' `rpo` tag, ahead of its default table:
  // the schedule's, so its row says what the outputs say.
  const report2 = await withStore(store, (repo) => collectReport(repo, { now: Date.now(), defaultPolicy: () => ({ rpo: { seconds: 3600, text: '1h' } }) }));
  const row = report2.groups.flatMap((g) => g.sources).find((x) => x.location === created.location);
  expect(row).toMatchObject({ rpo: { seconds: updated.rpoSeconds, from: 'tag' }, rpoMet: updated.rpoMet, drillStatus: updated.lastDrillResult, lastDrill: { id: updated.lastDrillId } });
}, 180_000);

test('the snapshots carry the schedule\'s RPO as the report reads it; a caller\'s own rpo tag wins', async () => {
  const volume = await rig.emulator.createVolume({ name: 'nightly', size: 2 * MiB, bytes: prng(75)(MiB) });
  const base: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, store, scaleway, schedule: '0 3 * * 1-5', environment: 'production' };
  await createSource(base, overrides);
  await createSource({ ...base, tags: { rpo: '12h' } }, overrides);
  const tags = (await withStore(store, (repo) => listSnapshots(repo))).snapshots.filter((x) => x.source.location.endsWith(volume.id)).map((x) => x.tags);
  expect(tags).toEqual([{ rpo: '3d', environment: 'production' }, { rpo: '12h', environment: 'production' }]);
}, 60_000);

test('an Instance\'s drills are its volumes\': the report folds them in, and so do the outputs', async () => {
  const disk = await rig.emulator.createVolume({ name: 'web-root', size: 2 * MiB, bytes: prng(74)(MiB) });
  const server = rig.emulator.createServer({ name: 'web', volumeIds: [disk.id], bootVolumeId: disk.id });
  const inputs: BackupSourceInputs = { kind: 'instance', zone: 'fr-par-1', resourceId: server.id, bucket: rig.bucket, store, scaleway, schedule: '24h' };
  const created = await createSource(inputs, overrides);
  expect(pick(created)).toMatchObject({ rpoSeconds: 86400, rpoMet: true, lastDrillResult: 'missing' });
  const drill = await runDrill({ source: { ...inputs, kind: 'volume', resourceId: disk.id } }, overrides);
  expect(pick(await refreshSource(created))).toMatchObject({ lastDrillResult: 'passed', lastDrillId: drill.drillId });
}, 120_000);
