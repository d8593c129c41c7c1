import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawFileSource, backupImage, initRepository } from '../../../engine';
import { compareWithSnapshot } from '../../../engine/scaleway';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';

const KiB = 1024;

describe('compareWithSnapshot: a disk against a stored snapshot', () => {
  it('finds no difference in the same disk, and names changed data, data in a hole, and a short disk', async () => {
    const dir = await tempDir();
    try {
      const size = 1024 * KiB;
      const img = Buffer.alloc(size);
      prng(3)(256 * KiB).copy(img, 64 * KiB); // data at 64..320 KiB, zeros elsewhere
      const path = join(dir.path, 'disk.raw');
      await writeFile(path, img);
      const repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
      const src = await RawFileSource.open(path);
      const snap = await backupImage(repo, src, {});
      await src.close();

      const check = async (bytes: Buffer) => {
        const p = join(dir.path, 'other.raw');
        await writeFile(p, bytes);
        const disk = await RawFileSource.open(p);
        try {
          return await compareWithSnapshot(repo, snap, disk);
        } finally {
          await disk.close();
        }
      };
      const same = await check(img);
      expect(same).toEqual({ bytesCompared: size, chunks: 4, mismatches: [] });

      const changed = Buffer.from(img);
      changed[100 * KiB] ^= 1;
      changed[800 * KiB] = 7; // inside a hole of the snapshot (320 KiB..1 MiB): located to its 64 KiB block
      expect((await check(changed)).mismatches).toEqual([{ offset: 64 * KiB, length: 64 * KiB }, { offset: 768 * KiB, length: 64 * KiB }]);

      const short = img.subarray(0, 512 * KiB);
      expect((await check(Buffer.from(short))).mismatches).toEqual([{ offset: 512 * KiB, length: 512 * KiB }]);
    } finally {
      await dir.cleanup();
    }
  });
});
