/**
 * Instance v1 through the real @scaleway/sdk-instance client: servers with SBS and local volumes,
 * actions and their state transitions, attach/detach (and the Block references that follow), local
 * volume snapshots, their export to a QCOW2 object and import back.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasQemuImg } from './qcow2-io';
import { getObject, pattern, run, startRig, waitInstanceSnapshot, waitUntil, type Rig } from './harness';

const MiB = 1024 * 1024;

describe('emulated Instance API', () => {
  let rig: Rig;
  let dir: string;

  beforeAll(async () => {
    rig = await startRig();
    dir = await mkdtemp(join(tmpdir(), 'scwb-emu-instance-'));
  });
  afterAll(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const waitServer = (serverId: string, state: string): Promise<unknown> =>
    waitUntil(rig.instance.getServer, { serverId }, (r) => r.server?.state === state);

  test('a seeded server shows its volumes in order; Block lists them by product_resource_id', async () => {
    const root = await rig.emulator.createVolume({ name: 'root', size: 2 * MiB, type: 'l_ssd' });
    const data = await rig.emulator.createVolume({ name: 'data', size: 4 * MiB, type: 'sbs_15k' });
    const seeded = rig.emulator.createServer({
      name: 'web-1',
      volumeIds: [root.id, data.id],
      bootVolumeId: root.id,
      state: 'running',
      tags: ['env:production'],
      privateNetworkIds: ['6c0c1c4a-8a3c-4b4e-9d55-5c1d4f1e7a10'],
      securityGroup: { id: '5881315f-2400-43a0-ac75-08adf6cb8c12', name: 'Default security group' },
    });
    const { server } = await rig.instance.getServer({ serverId: seeded.id });
    expect(server).toMatchObject({ name: 'web-1', state: 'running', commercialType: 'DEV1-S', tags: ['env:production'] });
    expect(server?.volumes['0']).toMatchObject({ id: root.id, volumeType: 'l_ssd', boot: true, size: 2 * MiB, server: { id: seeded.id, name: 'web-1' } });
    expect(server?.volumes['1']).toMatchObject({ id: data.id, volumeType: 'sbs_volume', boot: false });
    expect(server?.privateNics[0]?.privateNetworkId).toBe('6c0c1c4a-8a3c-4b4e-9d55-5c1d4f1e7a10');
    expect(server?.securityGroup).toEqual({ id: '5881315f-2400-43a0-ac75-08adf6cb8c12', name: 'Default security group' });
    expect(server?.allowedActions).toContain('poweroff');

    const attached = await rig.block.listVolumes({ includeDeleted: false, productResourceId: seeded.id });
    expect(attached.volumes.map((v) => v.id)).toEqual([data.id]);
    expect(attached.volumes[0].status).toBe('in_use');
    expect(attached.volumes[0].references[0]).toMatchObject({ productResourceId: seeded.id, productResourceType: 'instance_server', type: 'exclusive', status: 'attached' });

    // An SBS volume is not an Instance volume.
    await expect(rig.instance.getVolume({ volumeId: data.id })).rejects.toMatchObject({ name: 'ResourceNotFoundError', resource: 'instance_volume' });
    expect((await rig.instance.getVolume({ volumeId: root.id })).volume?.server?.id).toBe(seeded.id);

    const listed = await rig.instance.listServers({ tags: ['env:production'] });
    expect(listed.totalCount).toBe(1);
    expect(listed.servers[0].id).toBe(seeded.id);
  });

  test('create a server through the API, power it on and off, stop in place', async () => {
    const { server } = await rig.instance.createServer({
      protected: false,
      commercialType: 'PLAY2-NANO',
      name: 'api-made',
      image: 'ubuntu_jammy',
      volumes: { '0': { volumeType: 'sbs_volume', size: 2 * MiB }, '1': { volumeType: 'l_ssd', size: MiB, name: 'scratchy' } },
      tags: ['made'],
    });
    expect(server?.state).toBe('stopped');
    expect(server?.image?.name).toBe('ubuntu_jammy');
    expect(Object.keys(server?.volumes ?? {})).toEqual(['0', '1']);
    const id = server?.id as string;

    const on = await rig.instance.serverAction({ serverId: id, action: 'poweron' });
    expect(on.task?.status).toBe('pending');
    expect((await rig.instance.getServer({ serverId: id })).server?.state).toBe('starting');
    await waitServer(id, 'running');
    await expect(rig.instance.serverAction({ serverId: id, action: 'poweron' })).rejects.toMatchObject({ status: 400 });
    await rig.instance.serverAction({ serverId: id, action: 'stop_in_place' });
    await waitServer(id, 'stopped in place');
    await rig.instance.serverAction({ serverId: id, action: 'poweron' });
    await waitServer(id, 'running');
    await rig.instance.serverAction({ serverId: id, action: 'poweroff' });
    await waitServer(id, 'stopped');
  });

  test('attach and detach: SBS hot-plugs, local volumes need a stopped server', async () => {
    const s = rig.emulator.createServer({ name: 'att', state: 'running' });
    const sbs = await rig.block.createVolume({ fromEmpty: { size: MiB } });
    const local = (await rig.instance.createVolume({ volumeType: 'l_ssd', size: MiB, name: 'local' })).volume;

    const after = await rig.instance.attachServerVolume({ serverId: s.id, volumeId: sbs.id, volumeType: 'sbs_volume' });
    expect(after.server?.volumes['0']?.id).toBe(sbs.id);
    expect((await rig.block.getVolume({ volumeId: sbs.id })).status).toBe('in_use');
    await expect(rig.block.deleteVolume({ volumeId: sbs.id })).rejects.toMatchObject({ name: 'PreconditionFailedError', precondition: 'resource_still_in_use' });

    await expect(rig.instance.attachServerVolume({ serverId: s.id, volumeId: local?.id as string })).rejects.toMatchObject({ name: 'InvalidArgumentsError' });
    await rig.instance.serverAction({ serverId: s.id, action: 'poweroff' });
    await waitServer(s.id, 'stopped');
    const both = await rig.instance.attachServerVolume({ serverId: s.id, volumeId: local?.id as string, volumeType: 'l_ssd' });
    expect(Object.values(both.server?.volumes ?? {}).map((v) => v.id)).toEqual([sbs.id, local?.id]);

    const detached = await rig.instance.detachServerVolume({ serverId: s.id, volumeId: sbs.id });
    expect(Object.values(detached.server?.volumes ?? {}).map((v) => v.id)).toEqual([local?.id]);
    expect(detached.server?.volumes['0']?.id).toBe(local?.id);
    const free = await rig.block.getVolume({ volumeId: sbs.id });
    expect(free.status).toBe('available');
    expect(free.references).toEqual([]);
    expect(free.lastDetachedAt).toBeInstanceOf(Date);
    await rig.block.deleteVolume({ volumeId: sbs.id });
  });

  test('terminate deletes local volumes and detaches SBS ones', async () => {
    const local = await rig.emulator.createVolume({ type: 'l_ssd', size: MiB });
    const sbs = await rig.emulator.createVolume({ size: MiB });
    const s = rig.emulator.createServer({ volumeIds: [local.id, sbs.id], state: 'running' });
    await rig.instance.serverAction({ serverId: s.id, action: 'terminate' });
    await waitUntil(
      (r: { serverId: string }) => rig.instance.getServer(r).then(() => false, () => true),
      { serverId: s.id },
      (gone) => gone,
    );
    await expect(rig.instance.getServer({ serverId: s.id })).rejects.toMatchObject({ name: 'ResourceNotFoundError', resource: 'instance_server' });
    await expect(rig.instance.getVolume({ volumeId: local.id })).rejects.toMatchObject({ name: 'ResourceNotFoundError' });
    expect((await rig.block.getVolume({ volumeId: sbs.id })).status).toBe('available');
  });

  test('local volume snapshot → export (task) → QCOW2 object → import → new local volume with the same bytes', async () => {
    const size = 3 * MiB;
    const data = pattern(size, 5);
    const vol = await rig.emulator.createVolume({ type: 'l_ssd', size, bytes: data, name: 'lssd' });
    rig.emulator.createServer({ volumeIds: [vol.id], state: 'running' });

    const created = await rig.instance.createSnapshot({ volumeId: vol.id, name: 'lssd-snap' });
    expect(created.snapshot).toMatchObject({ state: 'snapshotting', volumeType: 'l_ssd', size, baseVolume: { id: vol.id, name: 'lssd' } });
    expect(created.task?.status).toBe('pending');
    const snapId = created.snapshot?.id as string;
    expect((await waitInstanceSnapshot(rig, snapId)).snapshot?.state).toBe('available');

    const exp = await rig.instance.exportSnapshot({ snapshotId: snapId, bucket: rig.bucket, key: 'lssd.qcow2' });
    expect(exp.task?.description).toBe('export_snapshot');
    expect((await rig.instance.getSnapshot({ snapshotId: snapId })).snapshot?.state).toBe('exporting');
    // While exporting the key already exists, empty (as seen on a real export).
    expect((await getObject(rig, 'lssd.qcow2')).length).toBe(0);
    expect((await waitInstanceSnapshot(rig, snapId)).snapshot?.state).toBe('available');
    const object = await getObject(rig, 'lssd.qcow2');
    if (await hasQemuImg()) {
      const qcow = join(dir, 'lssd.qcow2');
      await writeFile(qcow, object);
      await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', qcow, join(dir, 'lssd.raw')]);
      expect((await readFile(join(dir, 'lssd.raw'))).equals(data)).toBe(true);
    }

    const imported = await rig.instance.createSnapshot({ bucket: rig.bucket, key: 'lssd.qcow2', volumeType: 'l_ssd', name: 'lssd-import' });
    expect(imported.snapshot?.state).toBe('importing');
    const importedId = imported.snapshot?.id as string;
    expect((await waitInstanceSnapshot(rig, importedId)).snapshot).toMatchObject({ state: 'available', size });
    const restored = await rig.instance.createVolume({ volumeType: 'l_ssd', baseSnapshot: importedId, name: 'lssd-restored' });
    expect(restored.volume?.size).toBe(size);
    expect((await rig.emulator.readVolume(restored.volume?.id as string)).equals(data)).toBe(true);

    const listed = await rig.instance.listSnapshots({ baseVolumeId: vol.id });
    expect(listed.totalCount).toBe(1);
    await rig.instance.deleteSnapshot({ snapshotId: snapId });
    await expect(rig.instance.getSnapshot({ snapshotId: snapId })).rejects.toMatchObject({ name: 'ResourceNotFoundError', resource: 'instance_snapshot' });
  });

  test('SBS volumes are refused by Instance snapshots (use the Block API)', async () => {
    const sbs = await rig.emulator.createVolume({ size: MiB });
    await expect(rig.instance.createSnapshot({ volumeId: sbs.id })).rejects.toMatchObject({ name: 'InvalidArgumentsError', status: 400 });
  });
});
