/**
 * Scaleway at its real limits, reached with small volumes by lowering them in the stand-ins: the
 * S3 server takes at most 4 parts of 5-8 MiB (Object Storage: 1000 parts of 5 MB-5 GB), the
 * emulator exports and imports volumes of at most 40 MiB (Scaleway: 1 TB). A restore whose image
 * needs the largest parts goes through; volumes over the export limit are refused before anything
 * is created, and the emulator refuses them too when the engine is told a larger limit.
 */
import { backupImage, openDiskImage, type Repository } from '../../../engine';
import {
  STAGING_TAG, ScalewayApiError, TransferLimitError, backupBlockVolume, restoreBlockVolume,
  type ScalewayClients,
} from '../../../engine/scaleway';
import type { S3Backend } from '../../../engine/store/backends/s3';
import type { Rig } from '../../emulator/harness';
import { prng, tempDir, writeImage } from '../../helpers';
import { FAST, startScalewayRig, type ScalewayTestRig } from './scaleway-rig';

const MiB = 1024 * 1024;
const S3_LIMITS = { maxParts: 4, minPartSize: 5 * MiB, maxPartSize: 8 * MiB, maxObjectSize: 32 * MiB };
const TRANSFER = 40 * MiB;

let setup: ScalewayTestRig;
let rig: Rig;
let clients: ScalewayClients;
let staging: S3Backend;
let repo: Repository;

beforeAll(async () => {
  setup = await startScalewayRig({ s3Limits: S3_LIMITS, transferLimit: TRANSFER });
  ({ rig, clients, staging, repo } = setup);
});

afterAll(async () => {
  await setup?.stop();
});

/** A volume of `size` bytes whose first `data` bytes are random (incompressible, no zero cluster). */
async function volume(name: string, size: number, data: number): Promise<string> {
  const v = await rig.emulator.createVolume({ name, size });
  await rig.emulator.writeVolume(v.id, 0, prng(size)(data));
  return v.id;
}

async function nothingLeft(): Promise<void> {
  expect(await setup.bucketKeys()).toEqual([]);
  const snaps = await rig.block.listSnapshots({ includeDeleted: false, tags: [STAGING_TAG] });
  expect(snaps.snapshots).toEqual([]);
}

test('a restore whose image needs the largest parts: 4 parts of the 8 MiB maximum, the same bytes', async () => {
  const volumeId = await volume('largest-parts', 36 * MiB, 30 * MiB);
  const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: TRANSFER });
  const r = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST, transferLimit: TRANSFER });
  const upload = rig.s3.uploads.completed.find((u) => u.key === r.stagingKey);
  expect(upload?.partSizes.slice(0, 3)).toEqual([8 * MiB, 8 * MiB, 8 * MiB]);
  expect(upload?.partSizes).toHaveLength(4);
  expect(r.bytesUploaded).toBeGreaterThan(24 * MiB);
  expect((await rig.emulator.readVolume(r.volumeId)).equals(await rig.emulator.readVolume(volumeId))).toBe(true);
  expect(rig.s3.uploads.refused).toEqual([]);
  await nothingLeft();
});

test('a volume over the export limit is refused before anything is created, naming the limit and the way out', async () => {
  const volumeId = await volume('too-large', 48 * MiB, 1 * MiB);
  const before = rig.emulator.requests.length;
  // Not on an Instance: the emulator's metadata service knows no local server (404).
  const err = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: TRANSFER, attach: { url: rig.emulator.metadataUrl } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransferLimitError);
  expect((err as Error).message).toBe(`volume ${volumeId} in fr-par-1 is ${48 * MiB} bytes: Scaleway exports and imports snapshots of volumes of at most ${TRANSFER} bytes (1 TB); ` +
    'back it up from an Instance in fr-par-1 with --via attach (the volume is attached there and read directly)');
  // Only the read of the volume went out: no snapshot, no listing of the bucket.
  expect(rig.emulator.requests.slice(before).map((q) => q.method)).toEqual(['GET']);
  await nothingLeft();
});

test('the emulator refuses the export of a volume over its limit; the flow removes its snapshot', async () => {
  const volumeId = await volume('emulator-refuses', 48 * MiB, 1 * MiB);
  // The engine told a larger limit than the (emulated) service: the service's refusal comes through.
  const err = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId, bucket: rig.bucket, timeouts: FAST, transferLimit: 1e12 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ScalewayApiError);
  expect((err as ScalewayApiError).status).toBe(400);
  expect((err as Error).message).toMatch(/volume size between 1 GB and 41943040 bytes/);
  await nothingLeft();
});

test('a restore of a disk over the import limit is refused before the bucket is touched; the emulator refuses the import too', async () => {
  const dir = await tempDir('scwb-limits-');
  const image = await writeImage(dir.path, 'big.img', Buffer.concat([prng(9)(1 * MiB), Buffer.alloc(47 * MiB)]));
  const source = await openDiskImage(image);
  const snap = await backupImage(repo, source, { workers: 0 });
  await source.close();
  await dir.cleanup();
  const before = rig.emulator.requests.length;
  await expect(restoreBlockVolume(repo, clients, staging, { snapshot: snap, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST, transferLimit: TRANSFER, attach: { url: rig.emulator.metadataUrl } }))
    .rejects.toThrow(new TransferLimitError(`the volume of snapshot ${snap.id.slice(0, 12)}`, 'fr-par-1', 48 * MiB, TRANSFER, 'restore'));
  expect(rig.emulator.requests.length).toBe(before);
  const refused = await restoreBlockVolume(repo, clients, staging, { snapshot: snap, zone: 'fr-par-1', bucket: rig.bucket, timeouts: FAST }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ScalewayApiError);
  expect((refused as Error).message).toMatch(/volume size between 1 GB and/);
  await nothingLeft();
});
