/**
 * Fault switches: request faults (5xx, 429 with Retry-After, stall past the client's timeout, slow
 * answers, connection resets, quota and permission errors on chosen paths) and operation faults
 * (an export stuck in `exporting`, exports and imports ending in `error`, a bucket in another region).
 */
import { Blockv1 } from '@scaleway/sdk-block';
import { createAdvancedClient, Errors, withHTTPClient, withProfile } from '@scaleway/sdk-client';
import { getObject, realmSafeFetch, startRig, waitBlockSnapshot, waitInstanceSnapshot, waitUntil, type Rig } from './harness';

const MiB = 1024 * 1024;

describe('emulator fault switches', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({ delays: { export: 20, import: 20, snapshotCreate: 10 } });
  });
  afterAll(() => rig.stop());
  afterEach(() => rig.emulator.faults.clear());

  async function availableSnapshot(): Promise<string> {
    const vol = await rig.emulator.createVolume({ size: MiB, bytes: Buffer.from('some data') });
    const snap = await rig.block.createSnapshot({ volumeId: vol.id });
    await waitBlockSnapshot(rig, snap.id);
    return snap.id;
  }

  test('the next N matching requests fail with 500, then the API answers again', async () => {
    rig.emulator.faults.failNext(2, { kind: 'status', status: 500 }, { method: 'GET', path: '^/block/v1/zones/[^/]+/volumes$' });
    const before = rig.emulator.requests.length;
    await expect(rig.block.listVolumes({ includeDeleted: false })).rejects.toMatchObject({ status: 500 });
    // Other paths are not affected.
    await rig.block.listSnapshots({ includeDeleted: false });
    await expect(rig.block.listVolumes({ includeDeleted: false })).rejects.toMatchObject({ status: 500 });
    await expect(rig.block.listVolumes({ includeDeleted: false })).resolves.toMatchObject({ totalCount: expect.any(Number) });
    const seen = rig.emulator.requests.slice(before);
    expect(seen.map((r) => [r.status, r.fault ?? null])).toEqual([
      [500, 'status'],
      [200, null],
      [500, 'status'],
      [200, null],
    ]);
  });

  test('429 carries Retry-After and a too_many_requests body', async () => {
    rig.emulator.faults.failNext(1, { kind: 'rate-limit', retryAfterSeconds: 2 });
    const res = await fetch(`${rig.emulator.url}/block/v1/zones/fr-par-1/volumes`, { headers: { 'X-Auth-Token': rig.emulator.credentials.secretKey } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ type: 'too_many_requests', reset_seconds: 2 });
  });

  test('a stalled request never answers within the client timeout; the next one does', async () => {
    const profile = {
      accessKey: rig.emulator.credentials.accessKey,
      secretKey: rig.emulator.credentials.secretKey,
      defaultProjectId: rig.emulator.credentials.projectId,
      defaultOrganizationId: rig.emulator.credentials.organizationId,
      defaultRegion: 'fr-par' as const,
      defaultZone: 'fr-par-1' as const,
      apiURL: rig.emulator.url,
    };
    const impatient = new Blockv1.API(
      createAdvancedClient(withProfile(profile), withHTTPClient((input, init) => realmSafeFetch(input, { ...init, signal: AbortSignal.timeout(300) }))),
    );
    rig.emulator.faults.failNext(1, { kind: 'stall' });
    const started = Date.now();
    await expect(impatient.listVolumes({ includeDeleted: false })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await expect(impatient.listVolumes({ includeDeleted: false })).resolves.toBeDefined();
  });

  test('slow answers and connection resets', async () => {
    rig.emulator.faults.failNext(1, { kind: 'slow', delayMs: 200 });
    const started = Date.now();
    await rig.block.listVolumes({ includeDeleted: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    rig.emulator.faults.failNext(1, { kind: 'reset' });
    await expect(rig.block.listVolumes({ includeDeleted: false })).rejects.toThrow(/fetch failed|socket|ECONNRESET/i);
  });

  test('quota exceeded on import and on volume creation only', async () => {
    rig.emulator.faults.failNext(2, { kind: 'quotas-exceeded' }, { method: 'POST', path: '/import-from-object-storage$|/volumes$' });
    await expect(rig.block.importSnapshotFromObjectStorage({ bucket: rig.bucket, key: 'whatever.qcow2', name: 'q' })).rejects.toBeInstanceOf(Errors.QuotasExceededError);
    await expect(rig.instance.createVolume({ volumeType: 'l_ssd', size: MiB })).rejects.toBeInstanceOf(Errors.QuotasExceededError);
    expect(rig.emulator.list().faults.requests).toEqual([]);
  });

  test('permissions_denied on a chosen path', async () => {
    rig.emulator.faults.failNext(1, { kind: 'permissions-denied' }, { path: '/export-to-object-storage$' });
    const id = await availableSnapshot();
    await expect(rig.block.exportSnapshotToObjectStorage({ snapshotId: id, bucket: rig.bucket, key: 'p.qcow2' })).rejects.toMatchObject({
      name: 'PermissionsDeniedError',
      list: [{ resource: 'block', action: 'write' }],
    });
  });

  test('an export stuck in exporting never finishes', async () => {
    const id = await availableSnapshot();
    rig.emulator.faults.failNextOperation('export-stuck');
    await rig.block.exportSnapshotToObjectStorage({ snapshotId: id, bucket: rig.bucket, key: 'stuck.qcow2' });
    await new Promise((r) => setTimeout(r, 200));
    expect((await rig.block.getSnapshot({ snapshotId: id })).status).toBe('exporting');
    expect((await getObject(rig, 'stuck.qcow2')).length).toBe(0);
  });

  test('exports and imports that end in error (Block and Instance)', async () => {
    const id = await availableSnapshot();
    rig.emulator.faults.failNextOperation('export-error');
    await rig.block.exportSnapshotToObjectStorage({ snapshotId: id, bucket: rig.bucket, key: 'err.qcow2' });
    expect((await waitBlockSnapshot(rig, id)).status).toBe('error');

    const good = await availableSnapshot();
    await rig.block.exportSnapshotToObjectStorage({ snapshotId: good, bucket: rig.bucket, key: 'good.qcow2' });
    await waitBlockSnapshot(rig, good);
    rig.emulator.faults.failNextOperation('import-error');
    const imp = await rig.block.importSnapshotFromObjectStorage({ bucket: rig.bucket, key: 'good.qcow2', name: 'will-fail' });
    expect((await waitBlockSnapshot(rig, imp.id)).status).toBe('error');

    const local = await rig.emulator.createVolume({ type: 'l_ssd', size: MiB });
    const snap = (await rig.instance.createSnapshot({ volumeId: local.id })).snapshot?.id as string;
    await waitInstanceSnapshot(rig, snap);
    rig.emulator.faults.failNextOperation('export-error');
    await rig.instance.exportSnapshot({ snapshotId: snap, bucket: rig.bucket, key: 'local-err.qcow2' });
    expect((await waitInstanceSnapshot(rig, snap)).snapshot?.state).toBe('error');
  });

  test('a bucket in another region is refused by exports and imports', async () => {
    const id = await availableSnapshot();
    rig.emulator.faults.setBucketRegion(rig.bucket, 'nl-ams');
    await expect(rig.block.exportSnapshotToObjectStorage({ snapshotId: id, bucket: rig.bucket, key: 'r.qcow2' })).rejects.toMatchObject({
      name: 'InvalidArgumentsError',
      details: [expect.objectContaining({ argumentName: 'bucket', helpMessage: expect.stringContaining('nl-ams') })],
    });
    await expect(rig.block.importSnapshotFromObjectStorage({ bucket: rig.bucket, key: 'r.qcow2', name: 'r' })).rejects.toBeInstanceOf(Errors.InvalidArgumentsError);
    await expect(rig.instance.createSnapshot({ bucket: rig.bucket, key: 'r.qcow2', volumeType: 'l_ssd' })).rejects.toBeInstanceOf(Errors.InvalidArgumentsError);
    expect((await rig.block.getSnapshot({ snapshotId: id })).status).toBe('available');
    // A zone of the bucket's region is fine.
    const ams = await rig.emulator.createVolume({ zone: 'nl-ams-1', size: MiB });
    const amsSnap = await rig.block.createSnapshot({ zone: 'nl-ams-1', volumeId: ams.id });
    await waitUntil(rig.block.getSnapshot, { zone: 'nl-ams-1', snapshotId: amsSnap.id }, (s) => s.status === 'available');
    await rig.block.exportSnapshotToObjectStorage({ zone: 'nl-ams-1', snapshotId: amsSnap.id, bucket: rig.bucket, key: 'ams.qcow2' });
    // And a bucket that does not exist is refused too.
    await expect(rig.block.exportSnapshotToObjectStorage({ snapshotId: id, bucket: 'no-such-bucket', key: 'r.qcow2' })).rejects.toBeInstanceOf(Errors.InvalidArgumentsError);
  });
});
