/**
 * The direct-attach data path against the emulator: "this Instance" is an emulated server (its
 * metadata service answers for it), and the SBS volumes attached to it appear as devices under a
 * folder named like /dev/disk/by-id. The export limit is lowered to 40 MiB so a 48 MiB volume is
 * "over 1 TB": `auto` takes the attach path for it, the export path for the others.
 */
import { readdir } from 'node:fs/promises';
import { InterruptedError, type Repository } from '../../../engine';
import {
  AttachUnavailableError, STAGING_TAG, TransferLimitError, backupBlockVolume, restoreBlockVolume, type AttachOptions, type ScalewayClients,
} from '../../../engine/scaleway';
import type { S3Backend } from '../../../engine/store/backends/s3';
import type { Rig } from '../../emulator/harness';
import { prng } from '../../helpers';
import { FAST, startScalewayRig, type ScalewayTestRig } from './scaleway-rig';

const MiB = 1024 * 1024;
const LIMIT = 40 * MiB;

let setup: ScalewayTestRig;
let rig: Rig;
let clients: ScalewayClients;
let staging: S3Backend;
let repo: Repository;
let here: string;
let bootId: string;
let attach: AttachOptions;

beforeAll(async () => {
  setup = await startScalewayRig({ transferLimit: LIMIT });
  ({ rig, clients, staging, repo } = setup);
  const boot = await rig.emulator.createVolume({ name: 'runner-boot', size: 4 * MiB });
  bootId = boot.id;
  here = rig.emulator.createServer({ name: 'backup-runner', volumeIds: [boot.id], bootVolumeId: boot.id, state: 'running' }).id;
  rig.emulator.setLocalServer(here);
  attach = { url: rig.emulator.metadataUrl, deviceDir: rig.emulator.deviceDir };
});
afterAll(async () => {
  await setup?.stop();
});

/** A volume of `size` bytes with data here and there (the rest holes). */
async function volume(name: string, size: number): Promise<string> {
  const v = await rig.emulator.createVolume({ name, size });
  for (let at = 0; at < size; at += 8 * MiB) await rig.emulator.writeVolume(v.id, at, prng(at + size)(MiB));
  return v.id;
}

/** Nothing of the path's own left: no staging snapshot or volume, nothing on this Instance but its boot volume, no device. */
async function nothingLeft(): Promise<void> {
  const state = rig.emulator.list();
  expect(state.blockSnapshots.filter((s) => s.name.startsWith('scw-backup-'))).toEqual([]);
  expect((await rig.block.listVolumes({ includeDeleted: false, tags: [STAGING_TAG] })).volumes).toEqual([]);
  expect(state.servers.find((s) => s.id === here)?.volumeIds).toHaveLength(1);
  // Its own boot volume is a device of this Instance too, as on Scaleway.
  expect(await readdir(rig.emulator.deviceDir)).toEqual([`scsi-0SCW_sbs_volume-${bootId}`]);
  expect(await setup.bucketKeys()).toEqual([]);
}

test('a volume over the export limit: backed up and restored by attach (auto), the same bytes, attached to its target', async () => {
  const volumeId = await volume('big-data', 48 * MiB);
  const phases: string[] = [];
  const b = await backupBlockVolume(repo, clients, staging, {
    zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach,
    onProgress: (p) => { if (phases[phases.length - 1] !== p.phase) phases.push(p.phase); },
  });
  expect(b.via).toBe('attach');
  expect(phases).toEqual(['snapshotting', 'attaching', 'reading', 'done']);
  expect(b.snapshot.size).toBe(48 * MiB);
  expect(b.snapshot.source).toMatchObject({
    kind: 'scaleway-block', volumeId, volumeSize: 48 * MiB, format: 'raw', formatReason: 'scaleway-attach', via: 'attach', location: `scaleway-block://fr-par-1/${volumeId}`,
  });
  expect(b.cleanup.failed).toEqual([]);
  expect(b.cleanup.removed).toEqual([`volume ${b.attachedVolumeId}`, `snapshot ${b.nativeSnapshotId}`]);
  await nothingLeft();

  const target = rig.emulator.createServer({ name: 'app-server', state: 'running' });
  const r = await restoreBlockVolume(repo, clients, staging, {
    snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, name: 'big-data-restored', attachToServerId: target.id, timeouts: FAST, transferLimit: LIMIT, attach,
  });
  expect(r).toMatchObject({ via: 'attach', volumeName: 'big-data-restored', size: 48 * MiB, attachedTo: target.id });
  // Sparse: only the 1 MiB pieces of data were written, not the 48 MiB.
  expect(r.bytesUploaded).toBe(6 * MiB);
  expect(rig.emulator.volumeInfo(r.volumeId)).toMatchObject({ status: 'in_use', serverId: target.id });
  expect((await rig.emulator.readVolume(r.volumeId)).equals(await rig.emulator.readVolume(volumeId))).toBe(true);
  await nothingLeft();
});

test('auto takes the export for a volume within the limit; --via attach on it stores only what the export did not', async () => {
  const volumeId = await volume('small-data', 16 * MiB);
  const viaExport = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach });
  expect(viaExport.via).toBe('export');
  const viaAttach = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach, via: 'attach' });
  expect(viaAttach.via).toBe('attach');
  // The same guest bytes, read from a QCOW2 export or from the device: the same chunks.
  expect(viaAttach.snapshot.stats.bytesNew).toBe(0);
  await nothingLeft();
});

test('off an Instance, or on one of another zone: the attach path is refused by name, nothing created', async () => {
  const volumeId = await volume('nowhere', 48 * MiB);
  rig.emulator.setLocalServer(undefined);
  try {
    const before = rig.emulator.requests.length;
    await expect(backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach }))
      .rejects.toThrow(TransferLimitError);
    await expect(backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach, via: 'attach' }))
      .rejects.toThrow(new AttachUnavailableError('fr-par-1', `the Instance metadata service at ${rig.emulator.metadataUrl} answered HTTP 404, so this is not a Scaleway Instance`));
    expect(rig.emulator.requests.slice(before).every((q) => q.method === 'GET')).toBe(true);
    const elsewhere = rig.emulator.createServer({ zone: 'fr-par-2', name: 'other-zone', state: 'running' });
    rig.emulator.setLocalServer(elsewhere.id);
    await expect(backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach, via: 'attach' }))
      .rejects.toThrow(`this Instance (${elsewhere.id}) is in fr-par-2`);
  } finally {
    rig.emulator.setLocalServer(here);
  }
  await nothingLeft();
});

test('stopped while reading the device, or while writing it: the temporary volume is detached and deleted, the snapshot too', async () => {
  const volumeId = await volume('stop-attach', 48 * MiB);
  const stopAt = (phase: string) => {
    const controller = new AbortController();
    return { signal: controller.signal, onProgress: (p: { phase: string }) => { if (p.phase === phase && !controller.signal.aborted) controller.abort(new InterruptedError('SIGTERM')); } };
  };
  const stopped = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach, ...stopAt('reading') })
    .catch((e: unknown) => e);
  expect(stopped).toBeInstanceOf(InterruptedError);
  expect((stopped as InterruptedError).cleanup?.removed).toEqual([expect.stringMatching(/^volume /), expect.stringMatching(/^snapshot /)]);
  await nothingLeft();

  const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach });
  const volumesBefore = rig.emulator.list().volumes.length;
  const restore = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach, ...stopAt('writing') })
    .catch((e: unknown) => e);
  expect(restore).toBeInstanceOf(InterruptedError);
  expect((restore as InterruptedError).cleanup?.removed).toEqual([expect.stringMatching(/^volume /)]);
  expect(rig.emulator.list().volumes.length).toBe(volumesBefore);
  await nothingLeft();
});

test('a later run removes what a dead run of this path left: its temporary volume (detached from this Instance first) and snapshot, once stale', async () => {
  const volumeId = await volume('dead-run', 48 * MiB);
  const snap = await rig.block.createSnapshot({ volumeId, name: 'scw-backup-dead', tags: ['scw-backup', STAGING_TAG] });
  const temp = await rig.block.createVolume({ name: `scw-backup-attach-${volumeId}-2026-01-01T00-00-00Z`, fromEmpty: { size: 4 * MiB }, tags: ['scw-backup', STAGING_TAG], perfIops: 5000 });
  await new Promise((res) => setTimeout(res, 100));
  await rig.instance.attachServerVolume({ serverId: here, volumeId: temp.id, volumeType: 'sbs_volume' });
  // Young: may belong to a run still going, left alone.
  const young = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach });
  expect(young.leftovers).toEqual({ removed: [], failed: [] });
  const later = Date.now() + 2 * 3600_000;
  const old = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: LIMIT, attach, now: () => later });
  expect(old.leftovers).toEqual({ removed: [`volume ${temp.id}`, `snapshot ${snap.id}`], failed: [] });
  await nothingLeft();
});
