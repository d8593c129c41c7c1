/**
 * Backup and restore of a whole Instance (boot SBS volume, data SBS volume, local l_ssd volume) as a
 * group, end to end: the real @scaleway/sdk-instance / sdk-block clients against the emulator, the
 * staging bucket and the exports in s3rver (in process: no spawnSync here).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, initRepository, listSnapshots, type Repository } from '../../../engine';
import { STAGING_TAG, ScalewayApiError, backupInstance, deleteServerAndLocalVolumes, isInstanceGroup, readGroup, restoreInstance, type ScalewayClients } from '../../../engine/scaleway';
import type { S3Backend } from '../../../engine/store/backends/s3';
import { run, type Rig } from '../../emulator/harness';
import { PASS, TEST_INIT, copyRealFiles, prng, tempDir } from '../../helpers';
import { startScalewayRig, type ScalewayTestRig } from './scaleway-rig';

const MiB = 1024 * 1024;
const FAST = { default: { minDelayMs: 5, maxDelayMs: 40, timeoutMs: 20_000 } };

let dir: { path: string; cleanup: () => Promise<void> };
let raw: string;
let setup: ScalewayTestRig;
let rig: Rig;
let clients: ScalewayClients;
let staging: S3Backend;
let repo: Repository;

beforeAll(async () => {
  dir = await tempDir('scwb-instance-');
  const files = join(dir.path, 'files');
  await mkdir(files);
  copyRealFiles(files, 6 * MiB);
  raw = join(dir.path, 'boot.raw');
  await run('mke2fs', ['-q', '-t', 'ext4', '-F', '-d', files, raw, '16M']);
  setup = await startScalewayRig();
  ({ rig, clients, staging } = setup);
  repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
});

afterAll(async () => {
  await setup?.stop();
  await dir?.cleanup();
});

/** Nothing of ours left: no staging object, no staging snapshot in either API. */
async function expectNothingLeft(): Promise<void> {
  expect(await setup.bucketKeys()).toEqual([]);
  expect((await rig.block.listSnapshots({ includeDeleted: false, tags: [STAGING_TAG] })).snapshots).toEqual([]);
  const local = await clients.instance.listSnapshots({ zone: 'fr-par-1' });
  expect(local.snapshots.filter((s) => s.tags.includes(STAGING_TAG))).toEqual([]);
}

/** A running server: boot SBS volume (ext4 of real files), data SBS volume, local volume. */
async function newServer(name: string): Promise<{ id: string; volumes: string[] }> {
  const boot = await rig.emulator.createVolume({ name: `${name}-boot`, fromFile: raw, type: 'sbs_15k' });
  const data = await rig.emulator.createVolume({ name: `${name}-data`, size: 8 * MiB, bytes: prng(31)(3 * MiB), type: 'sbs_5k' });
  const local = await rig.emulator.createVolume({ name: `${name}-scratch`, size: 6 * MiB, bytes: prng(32)(2 * MiB), type: 'l_ssd' });
  const server = rig.emulator.createServer({ name, commercialType: 'PRO2-XS', volumeIds: [boot.id, data.id, local.id], bootVolumeId: boot.id, state: 'running', tags: ['app:db'] });
  return { id: server.id, volumes: [boot.id, data.id, local.id] };
}

async function serverVolumes(serverId: string): Promise<Array<{ id: string; type: string; boot: boolean }>> {
  const { server } = await clients.instance.getServer({ zone: 'fr-par-1', serverId });
  return Object.entries(server?.volumes ?? {}).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => ({ id: v.id, type: v.volumeType, boot: v.boot }));
}

describe('backupInstance and restoreInstance', () => {
  let server: { id: string; volumes: string[] };
  let groupId: string;
  let originals: Buffer[];

  test('backs up every volume as one group, in order, with the boot flag and the server description', async () => {
    server = await newServer('db-1');
    originals = await Promise.all(server.volumes.map((v) => rig.emulator.readVolume(v)));
    const order: string[] = [];
    const r = await backupInstance(repo, clients, staging, {
      zone: 'fr-par-1', serverId: server.id, bucket: rig.bucket, tags: { environment: 'production' }, timeouts: FAST,
      onVolume: (i, id, type) => order.push(`${i}:${id}:${type}`),
    });
    expect(order).toEqual([`0:${server.volumes[0]}:sbs_volume`, `1:${server.volumes[1]}:sbs_volume`, `2:${server.volumes[2]}:l_ssd`]);
    expect(isInstanceGroup(r.group)).toBe(true);
    expect(r.group.size).toBe(0);
    expect(r.group.tags).toEqual({ environment: 'production' });
    const { server: desc, members } = readGroup(r.group);
    expect(desc).toMatchObject({ id: server.id, name: 'db-1', commercialType: 'PRO2-XS', tags: ['app:db'], state: 'running' });
    expect(members.map((m) => [m.index, m.volumeId, m.volumeType, m.boot])).toEqual([
      [0, server.volumes[0], 'sbs_volume', true], [1, server.volumes[1], 'sbs_volume', false], [2, server.volumes[2], 'l_ssd', false],
    ]);
    // Members share the group's time and id; each is a normal, restorable snapshot.
    for (const v of r.volumes) {
      expect(v.snapshot.time).toBe(r.group.time);
      expect(v.snapshot.source).toMatchObject({ groupId: r.group.source.groupId, serverId: server.id, volumeIndex: v.index, boot: v.boot });
    }
    expect(r.volumes[2].snapshot.source).toMatchObject({ kind: 'scaleway-local', volumeType: 'l_ssd', format: 'qcow2', formatReason: 'scaleway-export', location: `scaleway-local://fr-par-1/${server.volumes[2]}` });
    expect(r.volumes[2].snapshot.size).toBe(6 * MiB);
    groupId = r.group.id;
    await expectNothingLeft();
  });

  test('restores the group as a new server: same volumes, order, boot flag and bytes', async () => {
    const group = (await listSnapshots(repo)).snapshots.find((s) => s.id === groupId);
    if (!group) throw new Error('group manifest missing');
    const warnings: string[] = [];
    const r = await restoreInstance(repo, clients, staging, {
      group, zone: 'fr-par-1', bucket: rig.bucket, newServerName: 'db-1-restored', timeouts: FAST, onWarning: (w) => warnings.push(w),
    });
    expect(r.serverCreated).toBe(true);
    expect(r.serverId).not.toBe(server.id);
    const vols = await serverVolumes(r.serverId);
    expect(vols.map((v) => [v.type, v.boot])).toEqual([['sbs_volume', true], ['sbs_volume', false], ['l_ssd', false]]);
    expect(vols.map((v) => v.id)).toEqual(r.volumes.map((v) => v.volumeId));
    for (let i = 0; i < 3; i++) {
      expect(vols[i].id).not.toBe(server.volumes[i]);
      expect((await rig.emulator.readVolume(vols[i].id)).equals(originals[i])).toBe(true);
    }
    const { server: created } = await clients.instance.getServer({ zone: 'fr-par-1', serverId: r.serverId });
    expect(created).toMatchObject({ name: 'db-1-restored', commercialType: 'PRO2-XS' });
    expect(created?.tags).toEqual(expect.arrayContaining(['app:db', 'scw-backup:restored']));
    // The original server is untouched.
    expect((await serverVolumes(server.id)).map((v) => v.id)).toEqual(server.volumes);
    await expectNothingLeft();
  });

  test('onto the same server: refused while running unless allowed; then swapped, originals detached and kept', async () => {
    const group = (await listSnapshots(repo)).snapshots.find((s) => s.id === groupId);
    if (!group) throw new Error('group manifest missing');
    const volumesBefore = (await clients.instance.listVolumes({ zone: 'fr-par-1' })).totalCount + (await rig.block.listVolumes({ includeDeleted: false })).totalCount;
    const refused = await restoreInstance(repo, clients, staging, { group, zone: 'fr-par-1', bucket: rig.bucket, serverId: server.id, timeouts: FAST }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as Error).message).toContain(`server ${server.id}: is running`);
    expect((await clients.instance.listVolumes({ zone: 'fr-par-1' })).totalCount + (await rig.block.listVolumes({ includeDeleted: false })).totalCount).toBe(volumesBefore);

    // The guest changed its disks since the backup; the restore brings back the backed-up bytes.
    await rig.emulator.writeVolume(server.volumes[1], 0, prng(99)(MiB));
    const r = await restoreInstance(repo, clients, staging, { group, zone: 'fr-par-1', bucket: rig.bucket, serverId: server.id, allowStop: true, timeouts: FAST });
    expect(r.serverCreated).toBe(false);
    expect(r.detached).toEqual(server.volumes);
    const vols = await serverVolumes(server.id);
    expect(vols.map((v) => v.id)).toEqual(r.volumes.map((v) => v.volumeId));
    expect(vols.map((v) => v.boot)).toEqual([true, false, false]);
    for (let i = 0; i < 3; i++) expect((await rig.emulator.readVolume(vols[i].id)).equals(originals[i])).toBe(true);
    const { server: after } = await clients.instance.getServer({ zone: 'fr-par-1', serverId: server.id });
    expect(after?.state).toBe('running');
    // The old volumes still exist, detached.
    for (const id of server.volumes) expect(rig.emulator.volumeInfo(id).serverId).toBeNull();
    await expectNothingLeft();
  });

  test('a volume failing part-way: typed error, no member manifest left in the store, nothing left behind', async () => {
    const s = await newServer('db-2');
    const before = (await listSnapshots(repo)).snapshots.length;
    // The local volume is the last one: its export is refused after both SBS volumes were stored.
    rig.emulator.faults.failNext(1, { kind: 'permissions-denied', resource: 'instance_snapshot', action: 'export' }, { method: 'POST', path: /\/instance\/v1\/zones\/[^/]+\/snapshots\/[^/]+\/export$/ });
    const warnings: string[] = [];
    const err = await backupInstance(repo, clients, staging, { zone: 'fr-par-1', serverId: s.id, bucket: rig.bucket, timeouts: FAST, onWarning: (w) => warnings.push(w) }).catch((e: unknown) => e);
    rig.emulator.faults.clear();
    expect(err).toBeInstanceOf(ScalewayApiError);
    expect((err as ScalewayApiError).status).toBe(403);
    expect((err as Error).message).toContain('Scaleway refused to export instance snapshot');
    expect(warnings).toEqual([]);
    expect((await listSnapshots(repo)).snapshots.length).toBe(before);
    await expectNothingLeft();
  });

  test('a scratch volume (GPU types) is skipped with a warning: Scaleway cannot snapshot it; the rest is backed up and restored', async () => {
    const boot = await rig.emulator.createVolume({ name: 'gpu-boot', size: 4 * MiB, bytes: prng(41)(MiB) });
    const scratch = await rig.emulator.createVolume({ name: 'gpu-scratch', size: 4 * MiB, bytes: prng(42)(MiB), type: 'scratch' });
    const gpu = rig.emulator.createServer({ name: 'gpu-1', commercialType: 'H100-1-80G', volumeIds: [boot.id, scratch.id], bootVolumeId: boot.id });
    // What the emulator (like Scaleway) answers to a snapshot of it: the reason for skipping.
    await expect(clients.instance.createSnapshot({ zone: 'fr-par-1', volumeId: scratch.id, name: 'x' })).rejects.toThrow(/scratch volumes cannot be snapshotted/);
    const warnings: string[] = [];
    const b = await backupInstance(repo, clients, staging, { zone: 'fr-par-1', serverId: gpu.id, bucket: rig.bucket, timeouts: FAST, onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([`volume 1 (${scratch.id}) of server ${gpu.id} is a scratch volume: not backed up (scratch volumes cannot be snapshotted, and a new server of a GPU type comes with its own)`]);
    expect(readGroup(b.group).members.map((m) => m.volumeId)).toEqual([boot.id]);
    expect(b.server.volumes.map((v) => v.volumeType)).toEqual(['sbs_volume', 'scratch']);
    const restoreWarnings: string[] = [];
    const r = await restoreInstance(repo, clients, staging, { group: b.group, zone: 'fr-par-1', bucket: rig.bucket, newServerName: 'gpu-1-restored', timeouts: FAST, onWarning: (w) => restoreWarnings.push(w) });
    expect(r.notRestored).toEqual([`scratch volumes ${scratch.id} (never backed up)`]);
    expect(restoreWarnings).toContain(`not restored (attach them by hand if wanted): scratch volumes ${scratch.id} (never backed up)`);
    expect((await rig.emulator.readVolume(r.volumes[0].volumeId)).equals(await rig.emulator.readVolume(boot.id))).toBe(true);
    await expectNothingLeft();
  });

  test('a restored server is deleted the way Scaleway requires: powered off, deleted, its local volumes deleted after it', async () => {
    const group = (await listSnapshots(repo)).snapshots.find((s) => s.id === groupId);
    if (!group) throw new Error('group manifest missing');
    const r = await restoreInstance(repo, clients, staging, { group, zone: 'fr-par-1', bucket: rig.bucket, newServerName: 'to-delete', timeouts: FAST });
    await clients.instance.serverAction({ zone: 'fr-par-1', serverId: r.serverId, action: 'poweron' });
    const local = r.volumes.filter((v) => v.volumeType === 'l_ssd').map((v) => v.volumeId);
    const sbs = r.volumes.filter((v) => v.volumeType === 'sbs_volume').map((v) => v.volumeId);
    expect(local).toHaveLength(1);
    // A plain DELETE of the started server is refused (it must be stopped).
    await expect(clients.instance.deleteServer({ zone: 'fr-par-1', serverId: r.serverId })).rejects.toThrow(/must be stopped/);
    const removed = await deleteServerAndLocalVolumes(clients, 'fr-par-1', r.serverId, FAST);
    expect(removed).toEqual([`server ${r.serverId}`, `local volume ${local[0]}`]);
    const left = rig.emulator.list();
    expect(left.servers.map((x) => x.id)).not.toContain(r.serverId);
    expect(left.volumes.map((v) => v.id)).not.toContain(local[0]);
    // Its SBS volumes are detached, left to whoever restored them (deleteRestored deletes them).
    for (const id of sbs) expect(rig.emulator.volumeInfo(id)).toMatchObject({ status: 'available', serverId: null });
    expect(await deleteServerAndLocalVolumes(clients, 'fr-par-1', r.serverId, FAST)).toEqual([]);
    for (const id of sbs) await rig.block.deleteVolume({ volumeId: id });
  });

  test('bad input: a server with no volumes, unknown server, a non-group snapshot', async () => {
    const empty = rig.emulator.createServer({ name: 'empty', commercialType: 'DEV1-S', volumeIds: [] });
    const noVolumes = await backupInstance(repo, clients, staging, { zone: 'fr-par-1', serverId: empty.id, bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
    expect(noVolumes).toBeInstanceOf(InvalidInputError);
    const unknown = '00000000-0000-4000-8000-0000000000bb';
    await expect(backupInstance(repo, clients, staging, { zone: 'fr-par-1', serverId: unknown, bucket: rig.bucket, timeouts: FAST }))
      .rejects.toThrow(`server ${unknown} does not exist in zone fr-par-1`);
    const member = (await listSnapshots(repo)).snapshots.find((x) => x.source.kind === 'scaleway-block');
    if (!member) throw new Error('no member snapshot');
    await expect(restoreInstance(repo, clients, staging, { group: member, zone: 'fr-par-1', bucket: rig.bucket, newServerName: 'x', timeouts: FAST }))
      .rejects.toThrow('is not the group of an Instance backup');
    await expectNothingLeft();
  });
});
