import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  RawFileSource, SnapshotSource, backupImage, checkRepository, findSnapshot, initRepository, listSnapshots, openRepository, qcow2Stream,
  restoreImage, restoreQcow2, type ChunkerParams,
} from '../../engine';
import { PASS, TEST_INIT, makeImage, prng, tempDir, writeImage } from '../helpers';

const chunkers: Array<[string, ChunkerParams]> = [
  ['fixed 64 KiB', { kind: 'fixed', size: 65536 }],
  ['fastcdc 16/64/256 KiB', { kind: 'fastcdc', min: 16384, avg: 65536, max: 262144 }],
];

describe.each(chunkers)('backup and restore with %s chunks', (_name, chunker) => {
  it('restores byte for byte, stores little the second time, and keeps holes sparse', async () => {
    const dir = await tempDir();
    try {
      const repoPath = join(dir.path, 'repo');
      const size = 6 * 1024 * 1024 + 12345; // not a multiple of the chunk size
      const img = makeImage(size, 7);
      const imgPath = await writeImage(dir.path, 'disk.img', img);
      const repo = await initRepository(repoPath, PASS, { ...TEST_INIT, chunker, packSize: 1 << 20 });

      // A small read window makes chunks straddle window boundaries.
      const src1 = await RawFileSource.open(imgPath);
      const s1 = await backupImage(repo, src1, { tags: { environment: 'test' }, window: 300000 });
      await src1.close();
      expect(s1.size).toBe(size);
      expect(s1.stats.bytesRead).toBe(size);
      expect(s1.stats.holeBytes).toBeGreaterThan(0);
      expect(s1.stats.bytesNew).toBeLessThan(size);

      // Change 5 scattered 4 KiB blocks.
      const rnd = prng(99);
      for (let i = 0; i < 5; i++) rnd(4096).copy(img, 4096 * Math.floor((i * 0.19 + 0.03) * (size / 4096)));
      await writeImage(dir.path, 'disk.img', img);
      const reopened = await openRepository(repoPath, PASS);
      const src2 = await RawFileSource.open(imgPath);
      const s2 = await backupImage(reopened, src2, { window: 300000 });
      await src2.close();
      const maxChunk = chunker.kind === 'fixed' ? chunker.size : chunker.max;
      expect(s2.stats.newChunks).toBeLessThanOrEqual(5 * 3);
      expect(s2.stats.bytesNew).toBeLessThanOrEqual(5 * 2 * maxChunk);

      const snaps = (await listSnapshots(reopened)).snapshots;
      expect(snaps.map((s) => s.id)).toEqual([s1.id, s2.id]);
      expect(snaps[0].tags).toEqual({ environment: 'test' });

      const target = join(dir.path, 'restored.img');
      const r = await restoreImage(reopened, await findSnapshot(reopened, 'latest'), target);
      expect(r.size).toBe(size);
      expect(r.bytesWritten + r.holeBytes).toBe(size);
      expect(Buffer.compare(await readFile(target), img)).toBe(0);
      // Sparse: the holes were not written, so fewer blocks are allocated than the size.
      const st = await stat(target);
      expect(st.blocks * 512).toBeLessThan(size);

      const old = join(dir.path, 'old.img');
      await restoreImage(reopened, await findSnapshot(reopened, s1.id.slice(0, 8)), old);
      expect(Buffer.compare(await readFile(old), makeImage(size, 7))).toBe(0);

      // The QCOW2 path reads the snapshot through SnapshotSource (chunks straddling its reads).
      const q = join(dir.path, 'restored.qcow2');
      await restoreQcow2(reopened, s2, q);
      execFileSync('qemu-img', ['convert', '-O', 'raw', q, join(dir.path, 'from-qcow2.raw')]);
      // QCOW2 sizes are whole 512-byte sectors: the image is the disk plus zero padding.
      const fromQcow2 = await readFile(join(dir.path, 'from-qcow2.raw'));
      expect(fromQcow2.length).toBe(Math.ceil(size / 512) * 512);
      expect(Buffer.compare(fromQcow2.subarray(0, size), img)).toBe(0);
      expect(fromQcow2.subarray(size).every((b) => b === 0)).toBe(true);
      // The parallel file restore writes, out of order, exactly the image qcow2Stream gives in order.
      const streamed: Uint8Array[] = [];
      for await (const piece of qcow2Stream(new SnapshotSource(reopened, s2), { skipZeroClusters: false })) streamed.push(piece);
      expect(Buffer.compare(await readFile(q), Buffer.concat(streamed))).toBe(0);

      const check = await checkRepository(reopened, { readData: true });
      expect(check.errors).toEqual([]);
      expect(check.warnings).toEqual([]);
      expect(check.packsRead).toBe(check.packs);
    } finally {
      await dir.cleanup();
    }
  });
});

it('backs up an empty disk and an all-zero disk without storing data', async () => {
  const dir = await tempDir();
  try {
    const repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
    for (const size of [0, 3 * 1024 * 1024]) {
      const path = await writeImage(dir.path, `z${size}.img`, Buffer.alloc(size));
      const src = await RawFileSource.open(path);
      const snap = await backupImage(repo, src);
      await src.close();
      expect(snap.stats.chunks).toBe(0);
      expect(snap.stats.holeBytes).toBe(size);
      const target = join(dir.path, `r${size}.img`);
      await restoreImage(repo, snap, target);
      expect((await stat(target)).size).toBe(size);
      expect((await readFile(target)).equals(Buffer.alloc(size))).toBe(true);
    }
  } finally {
    await dir.cleanup();
  }
});

describe('restore across map pages', () => {
  it('restores a disk whose map spans several pages (more than 16384 extents), byte for byte', async () => {
    const dir = await tempDir();
    try {
      // 4 KiB chunks, data and holes alternating: every data chunk is an extent of its own.
      const chunks = 17_000;
      const size = chunks * 2 * 4096;
      const img = Buffer.alloc(size);
      const rnd = prng(4242);
      for (let i = 0; i < chunks; i++) rnd(4096).copy(img, i * 2 * 4096);
      const imgPath = await writeImage(dir.path, 'striped.img', img);
      const repo = await initRepository(join(dir.path, 'repo'), PASS, { ...TEST_INIT, chunker: { kind: 'fixed', size: 4096 }, packSize: 1 << 20 });
      const src = await RawFileSource.open(imgPath);
      const snap = await backupImage(repo, src, {});
      await src.close();
      expect(snap.map.length).toBeGreaterThan(1);
      const target = join(dir.path, 'restored.img');
      const r = await restoreImage(repo, await findSnapshot(repo, snap.id), target, { concurrency: 3 });
      expect(r.bytesWritten).toBe(chunks * 4096);
      expect(Buffer.compare(await readFile(target), img)).toBe(0);
    } finally {
      await dir.cleanup();
    }
  });
});

it('restores byte for byte with the chunk work inline (workers: 0), several packs fetched at once', async () => {
  // Inline, the fetchers' requests share one ChunkRestorer (one run buffer, one scratch buffer): they
  // must take turns as they do on a worker thread, or one request's chunks land in another's run.
  const dir = await tempDir();
  try {
    const img = prng(31)(48 << 20);
    const repo = await initRepository(join(dir.path, 'repo'), PASS, { ...TEST_INIT, packSize: 1 << 20 });
    const src = await RawFileSource.open(await writeImage(dir.path, 'inline.img', img));
    const snap = await backupImage(repo, src, { workers: 0 });
    await src.close();
    for (const restore of [restoreImage, restoreQcow2]) {
      const target = join(dir.path, `inline-${restore.name}.out`);
      await restore(await openRepository(join(dir.path, 'repo'), PASS), snap, target, { workers: 0, concurrency: 4 });
      if (restore === restoreImage) expect((await readFile(target)).equals(img)).toBe(true);
      else execFileSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', target, join(dir.path, 'inline.img')]);
    }
  } finally {
    await dir.cleanup();
  }
});
