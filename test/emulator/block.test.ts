/**
 * Block Storage v1 through the real @scaleway/sdk-block client: volumes, snapshots, export of a
 * snapshot to a real QCOW2 object (checked with qemu-img and the engine's reader), import back.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { hasQemuImg } from './qcow2-io';
import { getObject, pattern, run, startRig, waitBlockSnapshot, waitBlockVolume, type Rig } from './harness';

const MiB = 1024 * 1024;

describe('emulated Block Storage API', () => {
  let rig: Rig;
  let dir: string;
  let qemu: boolean;

  beforeAll(async () => {
    rig = await startRig();
    dir = await mkdtemp(join(tmpdir(), 'scwb-emu-block-'));
    qemu = await hasQemuImg();
  });
  afterAll(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('volume from_empty: creating, then available; get, list with filters, update, delete', async () => {
    const v = await rig.block.createVolume({ name: 'data', fromEmpty: { size: 8 * MiB }, perfIops: 15000, tags: ['env:test', 'class:db'] });
    expect(v.status).toBe('creating');
    expect(v.type).toBe('sbs_15k');
    expect(v.specs).toEqual({ class: 'sbs', perfIops: 15000 });
    expect(v.projectId).toBe(rig.emulator.credentials.projectId);
    expect((await waitBlockVolume(rig, v.id)).status).toBe('available');

    const tagged = await rig.block.listVolumes({ includeDeleted: false, tags: ['class:db'] });
    expect(tagged.totalCount).toBe(1);
    expect(tagged.volumes[0].id).toBe(v.id);
    expect((await rig.block.listVolumes({ includeDeleted: false, name: 'dat' })).volumes.map((x) => x.id)).toContain(v.id);
    expect((await rig.block.listVolumes({ includeDeleted: false, name: 'nope' })).totalCount).toBe(0);

    const renamed = await rig.block.updateVolume({ volumeId: v.id, name: 'data2', tags: ['x'] });
    expect(renamed.name).toBe('data2');
    expect(renamed.tags).toEqual(['x']);

    await rig.block.deleteVolume({ volumeId: v.id });
    await expect(rig.block.getVolume({ volumeId: v.id })).rejects.toMatchObject({ name: 'ResourceNotFoundError', resource: 'volume', resourceId: v.id });
  });

  test('pagination: page_size, total_count and .all()', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await rig.block.createVolume({ name: `page-${i}`, fromEmpty: { size: MiB }, tags: ['paged'] })).id);
    const first = await rig.block.listVolumes({ includeDeleted: false, tags: ['paged'], pageSize: 2 });
    expect(first.totalCount).toBe(5);
    expect(first.volumes).toHaveLength(2);
    const all = await rig.block.listVolumes({ includeDeleted: false, tags: ['paged'], pageSize: 2 }).all();
    expect(all.map((v) => v.id)).toEqual(ids);
  });

  test('snapshot → export → the QCOW2 object holds the volume exactly; import → volume with the same bytes', async () => {
    const size = 4 * MiB;
    const data = pattern(size, 7);
    const vol = await rig.emulator.createVolume({ name: 'src', size, bytes: data });

    const snap = await rig.block.createSnapshot({ volumeId: vol.id, name: 'snap-1', tags: ['t'] });
    expect(snap.status).toBe('creating');
    expect(snap.parentVolume).toMatchObject({ id: vol.id, name: 'src', type: 'sbs_5k' });
    expect(snap.size).toBe(size);
    // A guest write after the snapshot does not reach it.
    await rig.emulator.writeVolume(vol.id, 0, Buffer.from('after the snapshot'));
    expect((await waitBlockSnapshot(rig, snap.id)).status).toBe('available');

    const exporting = await rig.block.exportSnapshotToObjectStorage({ snapshotId: snap.id, bucket: rig.bucket, key: 'exports/snap-1.qcow2' });
    expect(exporting.status).toBe('exporting');
    expect((await waitBlockSnapshot(rig, snap.id)).status).toBe('available');

    const object = await getObject(rig, 'exports/snap-1.qcow2');
    expect(object.subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    const qcow = join(dir, 'snap-1.qcow2');
    await writeFile(qcow, object);
    if (qemu) {
      await run('qemu-img', ['check', qcow]);
      await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', qcow, join(dir, 'snap-1.raw')]);
      expect((await readFile(join(dir, 'snap-1.raw'))).equals(data)).toBe(true);
    }

    const imported = await rig.block.importSnapshotFromObjectStorage({ bucket: rig.bucket, key: 'exports/snap-1.qcow2', name: 'restored', tags: ['restore'] });
    expect(imported.status).toBe('creating');
    expect(imported.size).toBe(size);
    expect(imported.parentVolume).toBeUndefined();
    expect((await waitBlockSnapshot(rig, imported.id)).status).toBe('available');

    const restored = await rig.block.createVolume({ name: 'restored', fromSnapshot: { snapshotId: imported.id } });
    expect(restored.parentSnapshotId).toBe(imported.id);
    await waitBlockVolume(rig, restored.id);
    expect((await rig.emulator.readVolume(restored.id)).equals(data)).toBe(true);

    const bySource = await rig.block.listSnapshots({ includeDeleted: false, volumeId: vol.id });
    expect(bySource.snapshots.map((s) => s.id)).toEqual([snap.id]);
  });

  test('the engine writer makes the export when qemu-img is not used', async () => {
    const local = await startRig({ qcow2Writer: 'builtin' });
    try {
      const size = 2 * MiB;
      const data = pattern(size, 11);
      const vol = await local.emulator.createVolume({ size, bytes: data });
      const snap = await local.block.createSnapshot({ volumeId: vol.id });
      await waitBlockSnapshot(local, snap.id);
      await local.block.exportSnapshotToObjectStorage({ snapshotId: snap.id, bucket: local.bucket, key: 'b.qcow2' });
      await waitBlockSnapshot(local, snap.id);
      const imported = await local.block.importSnapshotFromObjectStorage({ bucket: local.bucket, key: 'b.qcow2', name: 'b' });
      await waitBlockSnapshot(local, imported.id);
      expect((await local.emulator.readSnapshot(imported.id)).equals(data)).toBe(true);
      if (qemu) {
        const qcow = join(dir, 'b.qcow2');
        await writeFile(qcow, await getObject(local, 'b.qcow2'));
        await run('qemu-img', ['check', qcow]);
      }
    } finally {
      await local.stop();
    }
  });

  test('volume from a QCOW2 file made by qemu-img, bigger volume from snapshot keeps the bytes and zero-extends', async () => {
    if (!qemu) return;
    const raw = join(dir, 'seed.raw');
    const data = pattern(MiB, 3);
    await writeFile(raw, data);
    const qcow = join(dir, 'seed.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
    const vol = await rig.emulator.createVolume({ fromFile: qcow, name: 'seeded' });
    expect(vol.size).toBe(MiB);
    const snap = await rig.block.createSnapshot({ volumeId: vol.id });
    await waitBlockSnapshot(rig, snap.id);
    const bigger = await rig.block.createVolume({ fromSnapshot: { snapshotId: snap.id, size: 2 * MiB } });
    expect(bigger.size).toBe(2 * MiB);
    const back = await rig.emulator.readVolume(bigger.id);
    expect(back.subarray(0, MiB).equals(data)).toBe(true);
    expect(back.subarray(MiB).every((b) => b === 0)).toBe(true);
  });

  test('import refuses what Scaleway refuses: not QCOW2, encrypted, backing file, zstd (InvalidArgumentsError)', async () => {
    const put = (key: string, body: Buffer): Promise<unknown> => rig.s3client.send(new PutObjectCommand({ Bucket: rig.bucket, Key: key, Body: body }));
    const imp = (key: string): Promise<unknown> => rig.block.importSnapshotFromObjectStorage({ bucket: rig.bucket, key, name: 'bad' });

    await put('raw.qcow2', Buffer.alloc(4096, 1));
    await expect(imp('raw.qcow2')).rejects.toMatchObject({ name: 'InvalidArgumentsError', status: 400, body: { type: 'invalid_request_error' } });
    await expect(imp('missing.qcow2')).rejects.toMatchObject({ name: 'InvalidArgumentsError' });
    await expect(imp('file.raw')).rejects.toMatchObject({ name: 'InvalidArgumentsError', details: [expect.objectContaining({ argumentName: 'key' })] });
    if (!qemu) return;
    const make = async (name: string, args: string[]): Promise<Buffer> => {
      const path = join(dir, name);
      await run('qemu-img', ['create', '-f', 'qcow2', ...args, path, '1M']);
      return readFile(path);
    };
    await put('zstd.qcow2', await make('zstd.qcow2', ['-o', 'compression_type=zstd']));
    // An image whose header says AES-encrypted (crypt_method 1): qemu-img's LUKS images take seconds to make.
    const enc = await make('enc.qcow2', []);
    enc.writeUInt32BE(1, 32);
    await put('enc.qcow2', enc);
    await make('base.qcow2', []);
    await put('backed.qcow2', await make('backed.qcow2', ['-b', join(dir, 'base.qcow2'), '-F', 'qcow2']));
    for (const [key, why] of [['zstd.qcow2', /zstd/], ['enc.qcow2', /encrypted/], ['backed.qcow2', /backing file/]] as const) {
      await expect(imp(key)).rejects.toMatchObject({ name: 'InvalidArgumentsError', status: 400, details: [expect.objectContaining({ helpMessage: expect.stringMatching(why) })] });
    }
    expect(rig.emulator.list().blockSnapshots.filter((s) => s.name === 'bad')).toEqual([]);
  });
});
