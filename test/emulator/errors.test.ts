/**
 * Every error body the emulator sends comes out of the real SDK as the intended error class, with
 * the fields filled in. The client here is exactly `createClient(profile)` with `apiURL`.
 */
import { Errors } from '@scaleway/sdk-client';
import { Blockv1 } from '@scaleway/sdk-block';
import { clientFor, startRig, waitBlockSnapshot, type Rig } from './harness';

const MiB = 1024 * 1024;
const UNKNOWN = '0b0e6f5e-8a0c-4c3e-9e8b-3f2d1c0b9a87';

describe('emulator error bodies → SDK error classes', () => {
  let rig: Rig;
  let block: Blockv1.API;

  beforeAll(async () => {
    rig = await startRig();
    block = new Blockv1.API(clientFor(rig.emulator, { plain: true }));
  });
  afterAll(() => rig.stop());

  test('not_found → ResourceNotFoundError', async () => {
    const err = await block.getVolume({ volumeId: UNKNOWN }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.ResourceNotFoundError);
    expect(err).toMatchObject({ status: 404, resource: 'volume', resourceId: UNKNOWN });
    await expect(block.getSnapshot({ snapshotId: UNKNOWN })).rejects.toMatchObject({ resource: 'snapshot' });
    await expect(block.createSnapshot({ volumeId: UNKNOWN })).rejects.toBeInstanceOf(Errors.ResourceNotFoundError);
  });

  test('quotas_exceeded → QuotasExceededError with the quota details', async () => {
    rig.emulator.faults.failNext(1, { kind: 'quotas-exceeded', resource: 'volumes_sbs_total_size', quota: 100, current: 100 }, { method: 'POST', path: '/volumes$' });
    const err = await block.createVolume({ fromEmpty: { size: MiB } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.QuotasExceededError);
    expect(err).toMatchObject({
      status: 403,
      list: [{ resource: 'volumes_sbs_total_size', quota: 100, current: 100, scope: { kind: 'project', id: rig.emulator.credentials.projectId } }],
    });
    // One use only.
    expect((await block.createVolume({ fromEmpty: { size: MiB } })).status).toBe('creating');
  });

  test('transient_state → TransientStateError (export of a snapshot still creating, delete while exporting)', async () => {
    rig.emulator.setDelays({ snapshotCreate: 60_000 });
    const vol = await rig.emulator.createVolume({ size: MiB });
    const snap = await block.createSnapshot({ volumeId: vol.id });
    const err = await block.exportSnapshotToObjectStorage({ snapshotId: snap.id, bucket: rig.bucket, key: 'x.qcow2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.TransientStateError);
    expect(err).toMatchObject({ status: 409, resource: 'snapshot', resourceId: snap.id, currentState: 'creating' });
    await expect(block.deleteSnapshot({ snapshotId: snap.id })).rejects.toMatchObject({ currentState: 'creating' });
    rig.emulator.setDelays({ snapshotCreate: 10 });

    const snap2 = await block.createSnapshot({ volumeId: vol.id });
    await waitBlockSnapshot(rig, snap2.id);
    rig.emulator.faults.failNextOperation('export-stuck');
    await block.exportSnapshotToObjectStorage({ snapshotId: snap2.id, bucket: rig.bucket, key: 'y.qcow2' });
    await expect(block.deleteSnapshot({ snapshotId: snap2.id })).rejects.toMatchObject({ name: 'TransientStateError', currentState: 'exporting' });
  });

  test('precondition_failed → PreconditionFailedError (volume smaller than its snapshot)', async () => {
    const vol = await rig.emulator.createVolume({ size: 2 * MiB });
    const snap = await block.createSnapshot({ volumeId: vol.id });
    await waitBlockSnapshot(rig, snap.id);
    const err = await block.createVolume({ fromSnapshot: { snapshotId: snap.id, size: MiB } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.PreconditionFailedError);
    expect(err).toMatchObject({ status: 412, precondition: 'resource_not_usable', helpMessage: expect.stringContaining('equal to or larger') });
  });

  test('invalid_arguments → InvalidArgumentsError', async () => {
    const err = await block.createVolume({ fromEmpty: { size: MiB }, perfIops: 1234 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.InvalidArgumentsError);
    expect(err).toMatchObject({ status: 400, details: [{ argumentName: 'perf_iops', reason: 'constraint' }] });
    await expect(block.createVolume({ fromEmpty: { size: 1000 } })).rejects.toMatchObject({ details: [{ argumentName: 'from_empty.size' }] });
    await expect(block.getVolume({ zone: 'xx-yyy-0' as 'fr-par-1', volumeId: UNKNOWN })).rejects.toBeInstanceOf(Errors.ScalewayError);
  });

  test('permissions_denied → PermissionsDeniedError', async () => {
    rig.emulator.faults.failNext(1, { kind: 'permissions-denied', resource: 'block_storage', action: 'write' });
    const err = await block.createVolume({ fromEmpty: { size: MiB } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.PermissionsDeniedError);
    expect(err).toMatchObject({ status: 403, list: [{ resource: 'block_storage', action: 'write' }] });
  });

  test('denied_authentication → DeniedAuthenticationError for a wrong or missing secret key', async () => {
    const stranger = new Blockv1.API(clientFor(rig.emulator, { plain: true, secretKey: UNKNOWN }));
    const err = await stranger.listVolumes({ includeDeleted: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.DeniedAuthenticationError);
    expect(err).toMatchObject({ status: 401, method: 'api_key', reason: 'not_found' });
    const res = await fetch(`${rig.emulator.url}/block/v1/zones/fr-par-1/volumes`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ type: 'denied_authentication', reason: 'invalid_argument' });
  });

  test('too_many_requests → TooManyRequestsError; 5xx → ScalewayError with the status', async () => {
    rig.emulator.faults.failNext(1, { kind: 'rate-limit', retryAfterSeconds: 3 });
    const limited = await block.listVolumes({ includeDeleted: false }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Errors.TooManyRequestsError);
    expect(limited).toMatchObject({ status: 429, resetSeconds: 3 });
    rig.emulator.faults.failNext(1, { kind: 'status', status: 503 });
    const down = await block.listVolumes({ includeDeleted: false }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(Errors.ScalewayError);
    expect(down).not.toBeInstanceOf(Errors.ResourceNotFoundError);
    expect(down).toMatchObject({ status: 503 });
  });

  test('an unknown route is a 404 that says it is not emulated', async () => {
    const res = await fetch(`${rig.emulator.url}/rdb/v1/regions/fr-par/instances`, { headers: { 'X-Auth-Token': rig.emulator.credentials.secretKey } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toMatch(/not emulated/);
  });
});
