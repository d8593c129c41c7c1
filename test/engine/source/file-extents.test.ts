import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawFileSource, backupImage, findSnapshot, initRepository, restoreImage } from '../../../engine';
import { fileDataExtents, loadSparseAddon } from '../../../engine/source/file-extents';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';

const MiB = 1 << 20;

/** A sparse file: `size` bytes, random data only at the given [offset, length] ranges. */
async function sparseFile(path: string, size: number, ranges: Array<[number, number]>): Promise<Buffer> {
  const expected = Buffer.alloc(size);
  const rnd = prng(size);
  const h = await open(path, 'w');
  try {
    await h.truncate(size);
    for (const [offset, length] of ranges) {
      const data = rnd(length);
      data.copy(expected, offset);
      await h.write(data, 0, length, offset);
    }
    await h.sync();
  } finally {
    await h.close();
  }
  return expected;
}

async function extentsOf(path: string) {
  const h = await open(path, 'r');
  try {
    return [...fileDataExtents(h.fd, (await h.stat()).size)];
  } finally {
    await h.close();
  }
}

describe('data extents of sparse files (lseek SEEK_DATA/SEEK_HOLE)', () => {
  const linux = process.platform === 'linux' ? it : it.skip;

  linux('the native addon is built by npm ci and loads', () => {
    const addon = loadSparseAddon();
    expect(addon).not.toBeNull();
    expect(() => addon?.seekData(-1, 0)).toThrow(/non-negative/);
  });

  linux('finds the written ranges and skips the holes, including one at the end', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, 'sparse.img');
      const written: Array<[number, number]> = [[0, 64 * 1024], [3 * MiB, 128 * 1024], [5 * MiB + 65536, 64 * 1024]];
      await sparseFile(path, 8 * MiB, written);
      const extents = await extentsOf(path);
      for (const [offset, length] of written) {
        expect(extents.some((e) => e.offset <= offset && offset + length <= e.offset + e.length)).toBe(true);
      }
      let last = -1;
      for (const e of extents) {
        expect(e.offset).toBeGreaterThan(last);
        expect(e.length).toBeGreaterThan(0);
        last = e.offset + e.length;
      }
      expect(last).toBeLessThanOrEqual(8 * MiB);
      // File systems allocate in blocks (4 KiB on ext4), not in 1 MiB steps: the holes were found.
      expect(extents.reduce((n, e) => n + e.length, 0)).toBeLessThan(2 * MiB);
    } finally {
      await dir.cleanup();
    }
  });

  it('a dense file is one extent, an empty file none', async () => {
    const dir = await tempDir();
    try {
      const dense = join(dir.path, 'dense.img');
      await sparseFile(dense, 2 * MiB, [[0, 2 * MiB]]);
      expect(await extentsOf(dense)).toEqual([{ offset: 0, length: 2 * MiB }]);
      const empty = join(dir.path, 'empty.img');
      await sparseFile(empty, 0, []);
      expect(await extentsOf(empty)).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  });

  linux('a backup of a sparse raw image reads only its data and restores it byte for byte', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, 'disk.raw');
      const size = 16 * MiB + 4096; // not a multiple of the chunk size, ends in a hole
      const expected = await sparseFile(path, size, [[4096, 8192], [7 * MiB, 3 * 65536], [12 * MiB + 100, 1000]]);
      const repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
      const source = await RawFileSource.open(path);
      const snap = await backupImage(repo, source, {});
      await source.close();
      // Data extents widened to 64 KiB chunks: 1 + 3 + 1 chunks read, the rest recorded as holes.
      expect(snap.stats.bytesRead).toBe(5 * 65536);
      expect(snap.stats.holeBytes).toBe(size - 5 * 65536);
      const target = join(dir.path, 'restored.raw');
      await restoreImage(repo, await findSnapshot(repo, 'latest'), target);
      expect((await readFile(target)).equals(expected)).toBe(true);
    } finally {
      await dir.cleanup();
    }
  });
});
