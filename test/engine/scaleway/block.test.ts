/**
 * Backup and restore of a Block Storage volume through the staging bucket, end to end: the real
 * @scaleway/sdk-block / sdk-instance clients against the emulator, the staging bucket and the
 * emulator's exports in s3rver (in process: no spawnSync here, it would freeze both servers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { findSnapshot, initRepository, listSnapshots, loadSnapshot, type Repository } from '../../../engine';
import {
  ExportFailedError, QuotaExceededError, RestoreIncompleteError, STAGING_TAG, ScalewayResourceNotFoundError, WaitTimeoutError, WrongProjectError,
  backupBlockVolume, restoreBlockVolume, stagingBackend,
  type ScalewayClients, type ScalewayProfile,
} from '../../../engine/scaleway';
import type { S3Backend } from '../../../engine/store/backends/s3';
import { S3BucketNotFoundError } from '../../../engine/store/backends/s3';
import { run, waitBlockSnapshot, type Rig } from '../../emulator/harness';
import { startScalewayRig, type ScalewayTestRig } from './scaleway-rig';
import { PASS, TEST_INIT, copyRealFiles, prng, tempDir } from '../../helpers';

const MiB = 1024 * 1024;
const FAST = { default: { minDelayMs: 5, maxDelayMs: 40, timeoutMs: 20_000 } };

let dir: { path: string; cleanup: () => Promise<void> };
let raw: string;
let setup: ScalewayTestRig;
let rig: Rig;
let profile: ScalewayProfile;
let clients: ScalewayClients;
let staging: S3Backend;
let repo: Repository;

beforeAll(async () => {
  dir = await tempDir('scwb-block-');
  const files = join(dir.path, 'files');
  await mkdir(files);
  copyRealFiles(files, 10 * MiB);
  await writeFile(join(files, 'random.bin'), prng(5)(2 * MiB));
  raw = join(dir.path, 'disk.raw');
  await run('mke2fs', ['-q', '-t', 'ext4', '-F', '-d', files, raw, '32M']);
  // 5 MiB parts: the restore's ~13 MiB image goes up as a real multipart upload.
  setup = await startScalewayRig();
  ({ rig, profile, clients, staging } = setup);
  repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
});

afterAll(async () => {
  await setup?.stop();
  await dir?.cleanup();
});

const bucketKeys = (): Promise<string[]> => setup.bucketKeys();

/** Snapshots stuck in `exporting` on purpose (the emulator, like Scaleway, refuses to delete them). */
const stuck = new Set<string>();

async function stagingSnapshots(volumeId?: string): Promise<string[]> {
  const list = await rig.block.listSnapshots({ includeDeleted: false, tags: [STAGING_TAG], ...(volumeId ? { volumeId } : {}) });
  return list.snapshots.map((s) => s.id).filter((id) => !stuck.has(id));
}

async function newVolume(name: string, type: 'sbs_5k' | 'sbs_15k' = 'sbs_5k'): Promise<string> {
  return (await rig.emulator.createVolume({ name, fromFile: raw, tags: ['app:web'], type })).id;
}

describe('backupBlockVolume and restoreBlockVolume', () => {
  test('backup, incremental backup, restore to a new attached volume: same bytes, nothing left behind', async () => {
    const volumeId = await newVolume('web-data', 'sbs_15k');
    const phases: string[] = [];
    const warnings: string[] = [];
    const first = await backupBlockVolume(repo, clients, staging, {
      zone: 'fr-par-1', volumeId, bucket: rig.bucket, tags: { environment: 'production', dataClass: 'critical' },
      onProgress: (p) => { if (phases[phases.length - 1] !== p.phase) phases.push(p.phase); }, onWarning: (w) => warnings.push(w), timeouts: FAST,
    });
    expect(phases).toEqual(['snapshotting', 'exporting', 'reading', 'done']);
    expect(warnings).toEqual([]);
    expect(first.cleanup.failed).toEqual([]);
    expect(first.snapshot.size).toBe(32 * MiB);
    expect(first.snapshot.tags).toEqual({ environment: 'production', dataClass: 'critical' });
    expect(first.snapshot.source).toMatchObject({
      kind: 'scaleway-block', zone: 'fr-par-1', projectId: profile.projectId, volumeId, volumeName: 'web-data', volumeSize: 32 * MiB,
      volumeTags: 'app:web', format: 'qcow2', formatReason: 'scaleway-export', location: `scaleway-block://fr-par-1/${volumeId}`,
    });
    expect(first.stagingKey).toBe(`scw-backup/${volumeId}/${first.nativeSnapshotId}.qcow2`);
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots()).toEqual([]);

    // Guest writes: a few blocks change, the second backup stores only those.
    await rig.emulator.writeVolume(volumeId, 4 * MiB, prng(77)(256 * 1024));
    await rig.emulator.writeVolume(volumeId, 20 * MiB, prng(78)(64 * 1024));
    const second = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    expect(second.snapshot.stats.bytesNew).toBeLessThanOrEqual(1 * MiB);
    expect(second.snapshot.stats.bytesNew).toBeGreaterThan(0);
    expect(first.snapshot.stats.bytesNew).toBeGreaterThan(8 * MiB);
    const original = await rig.emulator.readVolume(volumeId);

    const server = rig.emulator.createServer({ name: 'restore-target' });
    const restorePhases: string[] = [];
    const restored = await restoreBlockVolume(repo, clients, staging, {
      snapshot: await findSnapshot(repo, second.snapshot.id), zone: 'fr-par-1', bucket: rig.bucket, name: 'web-data-restored',
      attachToServerId: server.id, timeouts: FAST,
      onProgress: (p) => { if (restorePhases[restorePhases.length - 1] !== p.phase) restorePhases.push(p.phase); },
    });
    expect(restorePhases).toEqual(['uploading', 'importing', 'creating-volume', 'attaching', 'done']);
    expect(restored.volumeId).not.toBe(volumeId);
    expect(restored.cleanup.failed).toEqual([]);
    expect(restored.bytesUploaded).toBeGreaterThan(10 * MiB); // several 5 MiB parts
    const info = rig.emulator.volumeInfo(restored.volumeId);
    // Same IOPS class as the original (perfIops 15000 recorded in the manifest).
    expect(second.snapshot.source.perfIops).toBe(15000);
    expect(info).toMatchObject({ name: 'web-data-restored', size: 32 * MiB, status: 'in_use', serverId: server.id, type: 'sbs_15k' });
    expect((await rig.emulator.readVolume(restored.volumeId)).equals(original)).toBe(true);
    // The original volume is untouched, and nothing is left in the bucket or as snapshots.
    expect(rig.emulator.volumeInfo(volumeId).status).toBe('available');
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots()).toEqual([]);
    expect((await rig.block.listSnapshots({ includeDeleted: false })).snapshots.filter((s) => s.tags.includes('scw-backup'))).toEqual([]);
  });

  test('a restore first removes stale leftovers of restores that died (image and imported snapshot), not fresh ones', async () => {
    const volumeId = await newVolume('restore-leftovers');
    const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    await rig.s3client.send(new PutObjectCommand({ Bucket: rig.bucket, Key: 'scw-backup/restore/dead-run.qcow2', Body: Buffer.alloc(1000) }));
    const dead = await rig.block.createSnapshot({ volumeId, name: 'scw-backup-restore-dead-run', tags: ['scw-backup', STAGING_TAG] });
    const unrelated = await rig.block.createSnapshot({ volumeId, name: 'someone-elses', tags: [STAGING_TAG] });
    await waitBlockSnapshot(rig, dead.id);
    await waitBlockSnapshot(rig, unrelated.id);
    // Young leftovers may belong to a restore still running: left alone.
    const young = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST });
    expect(young.leftovers).toEqual({ removed: [], failed: [] });
    const later = Date.now() + 2 * 3600_000;
    const old = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST, now: () => later });
    expect(old.leftovers.failed).toEqual([]);
    expect(old.leftovers.removed.sort()).toEqual([`s3://${rig.bucket}/scw-backup/restore/dead-run.qcow2`, `snapshot ${dead.id}`].sort());
    expect(await bucketKeys()).toEqual([]);
    const left = (await rig.block.listSnapshots({ includeDeleted: false, volumeId })).snapshots.map((s) => s.id);
    expect(left).toEqual([unrelated.id]);
    await rig.block.deleteSnapshot({ snapshotId: unrelated.id });
  });

  test('a restore to a larger size imports the disk at its own size (no `size` sent) and makes the volume larger', async () => {
    const volumeId = await newVolume('grow');
    const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    const sent: Array<Record<string, unknown>> = [];
    const imported: number[] = [];
    const block = clients.block;
    const original = block.importSnapshotFromObjectStorage.bind(block);
    block.importSnapshotFromObjectStorage = async (req) => {
      sent.push({ ...req });
      const snap = await original(req);
      imported.push(snap.size);
      return snap;
    };
    try {
      const r = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, size: 64 * MiB, timeouts: FAST });
      expect(sent).toHaveLength(1);
      expect(sent[0]).not.toHaveProperty('size');
      expect(imported).toEqual([32 * MiB]);
      expect(rig.emulator.volumeInfo(r.volumeId).size).toBe(64 * MiB);
      const bytes = await rig.emulator.readVolume(r.volumeId);
      expect(bytes.subarray(0, 32 * MiB).equals(await rig.emulator.readVolume(volumeId))).toBe(true);
      expect(bytes.subarray(32 * MiB).equals(Buffer.alloc(32 * MiB))).toBe(true);
    } finally {
      block.importSnapshotFromObjectStorage = original;
    }
  });

  test('in-place swap: the server\'s volume is detached and kept, the restored one attached in its place', async () => {
    const volumeId = await newVolume('swap-data');
    const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    const server = rig.emulator.createServer({ name: 'swap-target', volumeIds: [volumeId] });
    const original = await rig.emulator.readVolume(volumeId);
    await rig.emulator.writeVolume(volumeId, 0, prng(91)(64 * 1024)); // the guest damaged its disk
    await expect(restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, replaceVolumeId: volumeId, timeouts: FAST }))
      .rejects.toThrow('volume to replace: an in-place swap needs the server');
    const r = await restoreBlockVolume(repo, clients, staging, {
      snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, attachToServerId: server.id, replaceVolumeId: volumeId, timeouts: FAST,
    });
    expect(r).toMatchObject({ attachedTo: server.id, replaced: volumeId });
    expect(rig.emulator.volumeInfo(volumeId)).toMatchObject({ serverId: null, status: 'available' });
    expect(rig.emulator.volumeInfo(r.volumeId).serverId).toBe(server.id);
    expect((await rig.emulator.readVolume(r.volumeId)).equals(original)).toBe(true);
  });

  test('keepNativeSnapshot keeps the Scaleway snapshot, without the staging tag', async () => {
    const volumeId = await newVolume('kept');
    // Count what is fetched from the bucket: only ranged GETs, fewer bytes than the export holds.
    const gets: Array<{ path: string; length?: number }> = [];
    const sizes = new Map<string, number>();
    const counting = {
      location: staging.location,
      list: (d: string) => staging.list(d),
      delete: (p: string) => staging.delete(p),
      stat: async (p: string) => { const i = await staging.stat(p); if (i) sizes.set(p, i.size); return i; },
      get: (p: string, range?: { offset: number; length: number }) => { gets.push({ path: p, length: range?.length }); return staging.get(p, range); },
    };
    const r = await backupBlockVolume(repo, clients, counting, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, keepNativeSnapshot: true, timeouts: FAST });
    expect(gets.length).toBeGreaterThan(3);
    expect(gets.every((g) => g.path === r.stagingKey && g.length !== undefined)).toBe(true);
    const fetched = gets.reduce((n, g) => n + (g.length ?? 0), 0);
    expect(fetched).toBeLessThan(sizes.get(r.stagingKey ?? '') ?? 0);
    expect(fetched).toBeLessThan(20 * MiB); // the 32 MiB disk holds ~13 MiB of files
    expect(r.nativeSnapshotKept).toBe(true);
    const s = await rig.block.getSnapshot({ snapshotId: r.nativeSnapshotId });
    expect(s.tags).toEqual(['scw-backup', 'scw-backup:kept']);
    expect(r.snapshot.source.nativeSnapshotId).toBe(r.nativeSnapshotId);
    expect(await bucketKeys()).toEqual([]);
    await rig.block.deleteSnapshot({ snapshotId: r.nativeSnapshotId });
  });

  test('a later run removes stale leftovers of a run that died', async () => {
    const volumeId = await newVolume('leftovers');
    const old = await rig.block.createSnapshot({ volumeId, name: 'dead-run', tags: ['scw-backup', STAGING_TAG] });
    const key = `scw-backup/${volumeId}/${old.id}.qcow2`;
    await rig.s3client.send(new PutObjectCommand({ Bucket: rig.bucket, Key: key, Body: Buffer.from('partial') }));
    await new Promise((r) => setTimeout(r, 200));
    // A fresh leftover (maybe a run still going) is left alone...
    const young = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    expect(young.leftovers.removed).toEqual([]);
    expect(await stagingSnapshots(volumeId)).toEqual([old.id]);
    // ...and removed once older than an hour.
    const later = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, now: () => Date.now() + 2 * 3600_000 });
    expect(later.leftovers.removed.sort()).toEqual([`s3://${rig.bucket}/${key}`, `snapshot ${old.id}`].sort());
    expect(later.leftovers.failed).toEqual([]);
    expect(await stagingSnapshots(volumeId)).toEqual([]);
    expect(await bucketKeys()).toEqual([]);
  });
});

describe('faults: typed errors, nothing left behind, no manifest', () => {
  let before: number;
  beforeEach(async () => {
    before = (await listSnapshots(repo)).snapshots.length;
  });
  afterEach(() => rig.emulator.faults.clear());

  async function expectNothingLeft(volumeId?: string): Promise<void> {
    expect(await bucketKeys()).toEqual([]);
    if (volumeId) expect(await stagingSnapshots(volumeId)).toEqual([]);
    expect((await listSnapshots(repo)).snapshots.length).toBe(before);
  }

  test('export ending in error → ExportFailedError', async () => {
    const volumeId = await newVolume('export-error');
    rig.emulator.faults.failNextOperation('export-error');
    const err = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportFailedError);
    expect((err as ExportFailedError).code).toBe('SCW_EXPORT_FAILED');
    await expectNothingLeft(volumeId);
  });

  test('export stuck → WaitTimeoutError naming the snapshot and its status; the undeletable snapshot is reported', async () => {
    const volumeId = await newVolume('export-stuck');
    rig.emulator.faults.failNextOperation('export-stuck');
    const warnings: string[] = [];
    const polls = rig.emulator.requests.length;
    // The cleanup waits for the export to end (at most `cleanup`), then gives up on the snapshot.
    const err = await backupBlockVolume(repo, clients, staging, {
      zone: 'fr-par-1', volumeId, bucket: rig.bucket, onWarning: (w) => warnings.push(w),
      timeouts: { ...FAST, export: { minDelayMs: 5, maxDelayMs: 20, timeoutMs: 300 }, cleanup: { minDelayMs: 5, maxDelayMs: 20, timeoutMs: 200 } },
    }).catch((e: unknown) => e);
    expect(rig.emulator.requests.slice(polls).filter((q) => q.method === 'GET' && /\/snapshots\/[0-9a-f-]+$/.test(q.path)).length).toBeGreaterThan(20);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).lastStatus).toBe('exporting');
    expect((err as Error).message).toMatch(/^snapshot [0-9a-f-]{36} is still "exporting"/);
    // Scaleway refuses to delete a snapshot while it exports: said, not swallowed.
    const stuckId = (err as WaitTimeoutError).resourceId;
    stuck.add(stuckId);
    expect(warnings.join('\n')).toContain(`could not remove snapshot ${stuckId}`);
    // ...and the error itself carries what is left behind.
    expect((err as Error).message).toContain(`; left behind: snapshot ${stuckId}`);
    expect((err as Error & { cleanupFailed?: Array<{ what: string }> }).cleanupFailed?.map((f) => f.what)).toEqual([`snapshot ${stuckId}`]);
    expect(await bucketKeys()).toEqual([]);
    expect((await listSnapshots(repo)).snapshots.length).toBe(before);
  });

  test('5xx answers, then success', async () => {
    const volumeId = await newVolume('flaky');
    rig.emulator.faults.failNext(2, { kind: 'status', status: 503 }, { method: 'POST', path: /\/snapshots$/ });
    rig.emulator.faults.failNext(1, { kind: 'status', status: 502 }, { method: 'GET', path: /\/snapshots\/[0-9a-f-]+$/ });
    const r = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    expect(r.snapshot.source.volumeId).toBe(volumeId);
    expect(rig.emulator.requests.filter((q) => q.status === 503).length).toBeGreaterThanOrEqual(2);
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots(volumeId)).toEqual([]);
  });

  test('429 answers with Retry-After, then success', async () => {
    const volumeId = await newVolume('rate-limited');
    rig.emulator.faults.failNext(2, { kind: 'rate-limit', retryAfterSeconds: 0 }, { method: 'POST', path: /export-to-object-storage$/ });
    const r = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    expect(r.snapshot.source.volumeId).toBe(volumeId);
    expect(rig.emulator.requests.filter((q) => q.status === 429).length).toBeGreaterThanOrEqual(2);
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots(volumeId)).toEqual([]);
  });

  test('staging bucket in another region → the export is refused with a clear error, nothing left behind', async () => {
    const volumeId = await newVolume('far-bucket');
    const before = (await listSnapshots(repo)).snapshots.length;
    rig.emulator.faults.setBucketRegion(rig.bucket, 'nl-ams');
    try {
      const err = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toMatch(/^SCW_/);
      expect((err as Error).message).toContain(`export snapshot`);
      expect((err as Error).message).toMatch(/region|nl-ams/i);
    } finally {
      rig.emulator.faults.setBucketRegion(rig.bucket, undefined);
    }
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots(volumeId)).toEqual([]);
    expect((await listSnapshots(repo)).snapshots.length).toBe(before);
  });

  test('unknown volume → not found, naming the volume and the zone', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const err = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId: missing, bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScalewayResourceNotFoundError);
    expect((err as Error & { code: string }).code).toBe('NOT_FOUND');
    expect((err as Error).message).toBe(`volume ${missing} does not exist in zone fr-par-1 (check the id and the zone)`);
    await expectNothingLeft();
  });

  test('volume of another project → WrongProjectError', async () => {
    const v = await rig.emulator.createVolume({ name: 'other', size: MiB, projectId: '99999999-9999-4999-8999-999999999999' });
    await expect(backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId: v.id, bucket: rig.bucket, timeouts: FAST }))
      .rejects.toBeInstanceOf(WrongProjectError);
    await expectNothingLeft(v.id);
  });

  test('missing staging bucket → S3BucketNotFoundError before any snapshot is made', async () => {
    const volumeId = await newVolume('no-bucket');
    const missing = stagingBackend(profile, 'no-such-bucket', { endpoint: rig.s3.endpoint, env: {}, retry: { baseDelayMs: 1 } });
    try {
      await expect(backupBlockVolume(repo, clients, missing, { zone: 'fr-par-1', volumeId, bucket: 'no-such-bucket', timeouts: FAST }))
        .rejects.toBeInstanceOf(S3BucketNotFoundError);
    } finally {
      await missing.close();
    }
    expect((await rig.block.listSnapshots({ includeDeleted: false, volumeId })).totalCount).toBe(0);
    await expectNothingLeft(volumeId);
  });

  test('quota exceeded on import → QuotaExceededError; staging object removed, no volume made', async () => {
    const volumeId = await newVolume('quota');
    const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST });
    const volumesBefore = (await rig.block.listVolumes({ includeDeleted: false })).totalCount;
    rig.emulator.faults.failNext(1, { kind: 'quotas-exceeded', resource: 'snapshots', quota: 10, current: 10 }, { method: 'POST', path: /import-from-object-storage$/ });
    const err = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect((err as QuotaExceededError).code).toBe('SCW_QUOTA_EXCEEDED');
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots()).toEqual([]);
    expect((await rig.block.listVolumes({ includeDeleted: false })).totalCount).toBe(volumesBefore);
  });

  test('attach to an unknown server → RestoreIncompleteError naming the volume left in place; staging cleaned', async () => {
    const snaps = (await listSnapshots(repo)).snapshots;
    const warnings: string[] = [];
    const server = '00000000-0000-4000-8000-0000000000aa';
    const err = await restoreBlockVolume(repo, clients, staging, {
      snapshot: await loadSnapshot(repo, snaps[snaps.length - 1].id), zone: 'fr-par-1', bucket: rig.bucket, attachToServerId: server, timeouts: FAST, onWarning: (w) => warnings.push(w),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreIncompleteError);
    const volumeId = (err as RestoreIncompleteError).volumeId;
    expect((err as Error).message).toContain(`volume ${volumeId} was restored in fr-par-1 and left in place`);
    expect((err as Error).message).toContain(`server ${server} does not exist in zone fr-par-1`);
    expect(rig.emulator.volumeInfo(volumeId).status).toBe('available');
    expect(warnings.join('\n')).toContain(volumeId);
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots()).toEqual([]);
  });

  test('import ending in error → ImportFailedError, intermediate snapshot and object removed', async () => {
    const snaps = (await listSnapshots(repo)).snapshots;
    const latest = await loadSnapshot(repo, snaps[snaps.length - 1].id);
    rig.emulator.faults.failNextOperation('import-error');
    const err = await restoreBlockVolume(repo, clients, staging, { snapshot: latest, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
    expect((err as Error & { code: string }).code).toBe('SCW_IMPORT_FAILED');
    expect(await bucketKeys()).toEqual([]);
    expect(await stagingSnapshots()).toEqual([]);
  });
});
