/**
 * The `/__admin/…` HTTP API, as a test in another process would use it: seed volumes from bytes or
 * a file, read and write their bytes, create servers, set faults, delays and bucket regions, list.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pattern, startRig, waitBlockSnapshot, type Rig } from './harness';

const MiB = 1024 * 1024;

describe('emulator admin API over HTTP', () => {
  let rig: Rig;
  let dir: string;
  let admin: string;

  const call = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${admin}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await call(method, path, body);
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    rig = await startRig();
    admin = rig.emulator.adminUrl;
    dir = await mkdtemp(join(tmpdir(), 'scwb-emu-admin-'));
  });
  afterAll(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('volumes: create from bytes and from a file, read back, write at an offset, read to a file', async () => {
    const bytes = pattern(MiB, 9);
    const v = await json<{ id: string; size: number; type: string; status: string }>('POST', '/volumes', {
      name: 'from-bytes',
      size: 2 * MiB,
      type: 'sbs_15k',
      tags: ['seed'],
      bytes_base64: bytes.toString('base64'),
    });
    expect(v).toMatchObject({ size: 2 * MiB, type: 'sbs_15k', status: 'available' });
    expect((await rig.block.getVolume({ volumeId: v.id })).tags).toEqual(['seed']);

    const first = Buffer.from(await (await call('GET', `/volumes/${v.id}/data?offset=0&length=${MiB}`)).arrayBuffer());
    expect(first.equals(bytes)).toBe(true);

    const put = await fetch(`${admin}/volumes/${v.id}/data?offset=${MiB + 10}`, { method: 'PUT', body: Buffer.from('guest write') });
    expect(put.status).toBe(204);
    const all = Buffer.from(await (await call('GET', `/volumes/${v.id}/data`)).arrayBuffer());
    expect(all.length).toBe(2 * MiB);
    expect(all.subarray(MiB + 10, MiB + 21).toString()).toBe('guest write');
    expect((await fetch(`${admin}/volumes/${v.id}/data?offset=${2 * MiB - 1}`, { method: 'PUT', body: 'xx' })).status).toBe(400);

    const out = join(dir, 'out.raw');
    expect(await json('GET', `/volumes/${v.id}/data?to_file=${encodeURIComponent(out)}`)).toEqual({ path: out, size: 2 * MiB });
    expect((await readFile(out)).equals(all)).toBe(true);

    const file = join(dir, 'disk.raw');
    await writeFile(file, bytes.subarray(0, 1000));
    const fromFile = await json<{ id: string; size: number }>('POST', '/volumes', { from_file: file, type: 'l_ssd' });
    expect(fromFile.size).toBe(1024);
    expect((await rig.instance.getVolume({ volumeId: fromFile.id })).volume?.size).toBe(1024);
    const back = Buffer.from(await (await call('GET', `/volumes/${fromFile.id}/data`)).arrayBuffer());
    expect(back.subarray(0, 1000).equals(bytes.subarray(0, 1000))).toBe(true);
    expect(back.subarray(1000).every((b) => b === 0)).toBe(true);
  });

  test('servers, state listing and the request log', async () => {
    const v = await json<{ id: string }>('POST', '/volumes', { size: MiB });
    const s = await json<{ id: string; volumeIds: string[] }>('POST', '/servers', { name: 'seeded', volume_ids: [v.id], state: 'running', tags: ['a'] });
    expect(s.volumeIds).toEqual([v.id]);
    expect((await rig.instance.getServer({ serverId: s.id })).server?.state).toBe('running');
    const state = await json<{ servers: { id: string }[]; volumes: { id: string; serverId: string | null }[] }>('GET', '/state');
    expect(state.servers.map((x) => x.id)).toContain(s.id);
    expect(state.volumes.find((x) => x.id === v.id)?.serverId).toBe(s.id);
    const log = await json<{ method: string; path: string; status: number }[]>('GET', '/requests');
    expect(log.at(-1)).toEqual({ method: 'GET', path: `/instance/v1/zones/fr-par-1/servers/${s.id}`, status: 200 });
  });

  test('faults, operation faults, bucket regions and delays', async () => {
    expect((await call('POST', '/faults', { count: 1, fault: { kind: 'status', status: 502 }, filter: { method: 'GET', path: '/snapshots$' } })).status).toBe(204);
    await expect(rig.block.listSnapshots({ includeDeleted: false })).rejects.toMatchObject({ status: 502 });
    await expect(rig.block.listSnapshots({ includeDeleted: false })).resolves.toBeDefined();

    expect(await json('PUT', '/delays', { export_ms: 5, snapshot_create_ms: 5 })).toMatchObject({ export: 5, snapshotCreate: 5 });
    const v = await json<{ id: string }>('POST', '/volumes', { size: MiB });
    const snap = await rig.block.createSnapshot({ volumeId: v.id });
    await waitBlockSnapshot(rig, snap.id);
    expect((await call('POST', '/operation-faults', { kind: 'export-error' })).status).toBe(204);
    await rig.block.exportSnapshotToObjectStorage({ snapshotId: snap.id, bucket: rig.bucket, key: 'a.qcow2' });
    expect((await waitBlockSnapshot(rig, snap.id)).status).toBe('error');

    expect((await call('PUT', `/buckets/${rig.bucket}/region`, { region: 'pl-waw' })).status).toBe(204);
    expect((await json<{ faults: { bucketRegions: Record<string, string> } }>('GET', '/state')).faults.bucketRegions).toEqual({ [rig.bucket]: 'pl-waw' });
    expect((await call('DELETE', '/faults')).status).toBe(204);
    expect((await json<{ faults: { bucketRegions: Record<string, string> } }>('GET', '/state')).faults.bucketRegions).toEqual({});

    expect((await call('POST', '/operation-faults', { kind: 'nope' })).status).toBe(400);
    expect((await call('POST', '/faults', { count: 0, fault: { kind: 'reset' } })).status).toBe(400);
  });

  test('the admin API needs no token, the API does', async () => {
    expect((await call('GET', '/state')).status).toBe(200);
    expect((await fetch(`${rig.emulator.url}/instance/v1/zones/fr-par-1/servers`)).status).toBe(401);
  });
});
