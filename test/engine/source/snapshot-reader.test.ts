/**
 * Random access to a stored snapshot (engine/source/snapshot-reader.ts), checked against the image
 * `restore` writes: random offsets and lengths, on a folder store with fixed and content-defined
 * chunks and on the local S3 server; the cache's bound, readahead, shared fetches, and refusals.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DamagedObjectError, FsBackend, InvalidInputError, RawFileSource, backupImage, initRepository, openRepository, restoreImage,
  type Backend, type ChunkerParams, type LocationOptions, type Repository, type Snapshot,
} from '../../../engine';
import { SnapshotReader } from '../../../engine/source/snapshot-reader';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { PASS, TEST_INIT, makeImage, prng, tempDir, writeImage } from '../../helpers';

let dir: { path: string; cleanup: () => Promise<void> };
let s3: S3TestServer;
let location: LocationOptions;
const SIZE = 12 * 1024 * 1024 + 4321; // not a whole number of chunks

beforeAll(async () => {
  dir = await tempDir('scwb-reader-');
  s3 = await startS3Server();
  await s3.createBucket('reader');
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

/** A store at `where` holding one snapshot of a fresh image; returns the reopened store, the snapshot and the restored bytes. */
async function stored(where: string, chunker: ChunkerParams, seed: number): Promise<{ repo: Repository; snap: Snapshot; restored: Buffer; image: Buffer }> {
  const image = makeImage(SIZE, seed);
  const path = await writeImage(dir.path, `disk-${seed}.img`, image);
  const repo = await initRepository(where, PASS, { ...TEST_INIT, chunker, packSize: 1 << 20, location });
  const src = await RawFileSource.open(path);
  const snap = await backupImage(repo, src);
  await src.close();
  const reopened = await openRepository(where, PASS, { location });
  await reopened.loadIndex();
  const target = join(dir.path, `restored-${seed}.img`);
  await restoreImage(reopened, snap, target);
  return { repo: reopened, snap, restored: await readFile(target), image };
}

async function compareRandomReads(reader: SnapshotReader, restored: Buffer, seed: number, count: number): Promise<void> {
  const rnd = prng(seed);
  const u32 = () => rnd(4).readUInt32LE(0);
  for (let i = 0; i < count; i++) {
    // Lengths from 1 byte to 3 MiB, a third of them tiny; some reads end exactly at the end of the disk.
    const length = i % 3 === 0 ? 1 + (u32() % 4096) : 1 + (u32() % (3 << 20));
    const offset = i % 17 === 0 ? SIZE - length : u32() % (SIZE - length + 1);
    const into = Buffer.alloc(length, 0xa5); // not zeros: holes must be written as zeros
    await reader.read(offset, into);
    if (!into.equals(restored.subarray(offset, offset + length))) throw new Error(`read of ${length} bytes at ${offset} differs from the restored image`);
  }
}

const chunkers: Array<[string, ChunkerParams]> = [
  ['fixed 64 KiB', { kind: 'fixed', size: 65536 }],
  ['fastcdc 16/64/256 KiB', { kind: 'fastcdc', min: 16384, avg: 65536, max: 262144 }],
];

describe.each(chunkers)('on a folder store with %s chunks', (_name, chunker) => {
  it('serves any byte range as restore wrote it', async () => {
    const seed = chunker.kind === 'fixed' ? 3 : 4;
    const { repo, snap, restored, image } = await stored(join(dir.path, `store-${chunker.kind}`), chunker, seed);
    expect(restored.equals(image)).toBe(true);
    const reader = new SnapshotReader(repo, snap, { cacheBytes: 4 << 20 });
    await compareRandomReads(reader, restored, seed, 300);
    expect(reader.cachedBytes).toBeLessThanOrEqual(4 << 20);
    await reader.close();
    await repo.backend.close();
  });
});

it('serves any byte range from an S3 store (ranged reads of the packs)', async () => {
  const { repo, snap, restored } = await stored('s3://reader/store', { kind: 'fixed', size: 65536 }, 5);
  const reader = new SnapshotReader(repo, snap);
  await compareRandomReads(reader, restored, 5, 120);
  // Fetched chunk by chunk, never a whole pack more than the reads needed.
  expect(reader.stats.bytesFetched).toBeLessThanOrEqual(SIZE);
  await reader.close();
  await repo.backend.close();
});

describe('cache, readahead and shared fetches', () => {
  let repo: Repository;
  let snap: Snapshot;
  let restored: Buffer;
  let gets = 0;
  const dataChunks = () => Math.ceil((restored.length - 1) / 65536); // an upper bound: holes are not chunks

  beforeAll(async () => {
    const where = join(dir.path, 'store-counting');
    ({ snap, restored } = await stored(where, { kind: 'fixed', size: 65536 }, 6));
    // The same store through a backend that counts ranged reads of packs.
    const fs = await FsBackend.open(where);
    const counting: Backend = Object.assign(Object.create(fs) as Backend, {
      get: (path: string, range?: { offset: number; length: number }) => {
        if (path.startsWith('packs/')) gets++;
        return fs.get(path, range);
      },
    });
    repo = await openRepository(counting, PASS);
    await repo.loadIndex();
  });
  afterAll(() => repo.backend.close());

  it('fetches each chunk once for a file system\'s 4 KiB reads, and keeps within its bound', async () => {
    const reader = new SnapshotReader(repo, snap, { cacheBytes: 1 << 20, prefetchBytes: 0 });
    const into = Buffer.alloc(4096);
    for (let o = 0; o + 4096 <= SIZE; o += 4096) {
      await reader.read(o, into);
      expect(reader.cachedBytes).toBeLessThanOrEqual(1 << 20);
    }
    // Every 64 KiB chunk is fetched once, whatever the 16 reads of 4 KiB it serves.
    expect(reader.stats.chunksFetched).toBeLessThanOrEqual(dataChunks());
    expect(reader.stats.cacheHits).toBeGreaterThan(reader.stats.chunksFetched * 10);
    await reader.close();
  });

  it('fetches ahead of sequential reads, in fewer requests', async () => {
    const run = async (prefetchBytes: number) => {
      gets = 0;
      const reader = new SnapshotReader(repo, snap, { prefetchBytes });
      const into = Buffer.alloc(4096);
      for (let o = 0; o + 4096 <= SIZE; o += 4096) {
        await reader.read(o, into);
        if (!into.equals(restored.subarray(o, o + 4096))) throw new Error(`differs at ${o}`);
      }
      const stats = { ...reader.stats, gets };
      await reader.close();
      return stats;
    };
    const without = await run(0);
    const ahead = await run(2 << 20);
    expect(without.chunksPrefetched).toBe(0);
    expect(ahead.chunksPrefetched).toBeGreaterThan(ahead.chunksFetched / 2);
    expect(ahead.chunksFetched).toBe(without.chunksFetched);
    // Neighbouring chunks of one pack come in one ranged read when fetched together.
    expect(ahead.gets).toBeLessThan(without.gets / 4);
  });

  it('shares one fetch between concurrent reads of the same chunk', async () => {
    const reader = new SnapshotReader(repo, snap, { prefetchBytes: 0 });
    const first = restored.findIndex((b) => b !== 0); // inside a data chunk
    const reads = Array.from({ length: 8 }, () => Buffer.alloc(100));
    await Promise.all(reads.map((b) => reader.read(first, b)));
    expect(reader.stats.chunksFetched).toBe(1);
    for (const b of reads) expect(b.equals(restored.subarray(first, first + 100))).toBe(true);
    await reader.close();
  });

  it('refuses reads outside the disk, and stops once its signal is aborted', async () => {
    const controller = new AbortController();
    const reader = new SnapshotReader(repo, snap, { signal: controller.signal });
    await expect(reader.read(SIZE - 10, Buffer.alloc(11))).rejects.toThrow(InvalidInputError);
    await expect(reader.read(-1, Buffer.alloc(1))).rejects.toThrow(/outside the 12587233-byte disk/);
    controller.abort(new Error('stop'));
    await expect(reader.read(0, Buffer.alloc(1))).rejects.toThrow('stop');
    await reader.close();
  });
});

it('reports a damaged pack by name, and never returns its bytes', async () => {
  const where = join(dir.path, 'store-damaged');
  const { repo, snap, restored } = await stored(where, { kind: 'fixed', size: 65536 }, 8);
  const packs = (await readdir(join(where, 'packs'), { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
  for (const f of packs) {
    const p = join(f.parentPath, f.name);
    const bytes = await readFile(p);
    for (let i = 100; i < bytes.length - 200; i += 4096) bytes[i] ^= 0xff;
    await writeFile(p, bytes);
  }
  const reader = new SnapshotReader(repo, snap);
  const at = restored.findIndex((b) => b !== 0);
  await expect(reader.read(at, Buffer.alloc(10))).rejects.toThrow(DamagedObjectError);
  // A failed fetch is not remembered: the next read tries again, and fails the same way.
  await expect(reader.read(at, Buffer.alloc(10))).rejects.toThrow(/is damaged: authentication failed/);
  await reader.close();
  await repo.backend.close();
});
