import { constants, openSync, closeSync, readFileSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { TargetWriter, newTargetWriter } from '../../../engine/pipeline/target-writer';
import { openDirect } from '../../../engine/target-file';
import { prng, tempDir } from '../../helpers';

const K64 = 65536;

/**
 * The writer's two descriptors point at two different files here, so each test sees which way every
 * chunk went: `plain` gets the positional writes, `direct` the O_DIRECT ones.
 */
describe('TargetWriter', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let plainPath: string;
  let directPath: string;
  let fd: number;
  const rnd = prng(7);

  beforeEach(async () => {
    dir = await tempDir('scwb-writer-');
    plainPath = join(dir.path, 'plain');
    directPath = join(dir.path, 'direct');
    fd = openSync(plainPath, 'w+');
    ftruncateSync(fd, 1 << 20);
    closeSync(openSync(directPath, 'w'));
  });
  afterEach(async () => {
    closeSync(fd);
    await dir.cleanup();
  });

  async function withDirect(run: (directFd: number) => Promise<void>): Promise<void> {
    const direct = await openDirect(directPath);
    // The tests' temporary folder is on ext4 on these machines: O_DIRECT must be taken.
    expect(direct).toBeDefined();
    try {
      await run(direct!.fd);
    } finally {
      await direct!.close();
    }
  }

  test('a run that starts and ends mid-page: its whole pages direct, the partial ones plain', async () => {
    await withDirect(async (directFd) => {
      const writer = newTargetWriter();
      writer.use({ fd, directFd });
      // Content-defined chunks: 10000 bytes at 1000, then 20000 bytes right after: one run [1000, 31000).
      const a = rnd(10_000);
      const b = rnd(20_000);
      for (const [data, offset] of [[a, 1000], [b, 11_000]] as const) {
        const slot = await writer.slot(offset, data.length);
        expect(slot?.length).toBe(data.length);
        writer.write(data, [offset], slot);
      }
      await writer.drain();
      const whole = Buffer.concat([a, b]);
      const direct = readFileSync(directPath);
      const plain = readFileSync(plainPath);
      // Pages 1..6 ([4096, 28672)) are whole pages of the run: direct, and only there.
      expect(direct.subarray(4096, 28_672)).toEqual(whole.subarray(4096 - 1000, 28_672 - 1000));
      expect(plain.subarray(4096, 28_672).every((x) => x === 0)).toBe(true);
      // The partial first and last pages went through the page cache.
      expect(plain.subarray(1000, 4096)).toEqual(whole.subarray(0, 4096 - 1000));
      expect(plain.subarray(28_672, 31_000)).toEqual(whole.subarray(28_672 - 1000));
      expect(direct.subarray(0, 4096).every((x) => x === 0)).toBe(true);
      expect(direct.length).toBe(28_672);
    });
  });

  test('contiguous whole-block chunks go out as direct runs; other chunks as plain writes; duplicates to every offset', async () => {
    await withDirect(async (directFd) => {
      const writer = newTargetWriter();
      writer.use({ fd, directFd });
      const a = rnd(K64);
      const b = rnd(K64);
      const odd = rnd(1000);
      const c = rnd(K64);
      // a then b follow each other at 0 and 64 KiB; odd (a run of its own, inside one page) is all
      // plain; c jumps to 512 KiB and is also at 768 KiB.
      for (const [data, offsets] of [[a, [0]], [b, [K64]], [odd, [200_000]], [c, [8 * K64, 12 * K64]]] as const) {
        const slot = await writer.slot(offsets[0], data.length);
        expect(slot?.length).toBe(data.length);
        expect(writer.write(data, offsets, slot)).toBe(data.length * offsets.length);
      }
      await writer.drain();
      const direct = readFileSync(directPath);
      expect(direct.subarray(0, K64)).toEqual(a);
      expect(direct.subarray(K64, 2 * K64)).toEqual(b);
      expect(direct.subarray(8 * K64, 9 * K64)).toEqual(c);
      expect(direct.subarray(12 * K64, 13 * K64)).toEqual(c);
      const plain = readFileSync(plainPath);
      expect(plain.subarray(200_000, 201_000)).toEqual(odd);
      expect(plain.subarray(0, K64).every((x) => x === 0)).toBe(true);
    });
  });

  test('without a direct descriptor everything is a plain write', async () => {
    const writer = newTargetWriter();
    writer.use({ fd });
    const a = rnd(K64);
    const slot = await writer.slot(0, K64);
    expect(slot).toBeUndefined();
    writer.write(a, [0], slot);
    await writer.drain();
    expect(readFileSync(plainPath).subarray(0, K64)).toEqual(a);
  });

  test('a direct write the file system refuses (EINVAL) goes the plain way, and so does the rest', async () => {
    await withDirect(async (directFd) => {
      // Buffers from malloc are not block-aligned: O_DIRECT refuses them with EINVAL.
      const writer = new TargetWriter([Buffer.alloc(1 << 20).subarray(1), Buffer.alloc(1 << 20).subarray(1)]);
      writer.use({ fd, directFd });
      const a = rnd(K64);
      const b = rnd(K64);
      writer.write(a, [0], await writer.slot(0, K64));
      writer.flush();
      // The refusal is seen when the first run is written; the next run then goes plain.
      await writer.drain();
      const slot = await writer.slot(4 * K64, K64);
      expect(slot).toBeUndefined();
      writer.write(b, [4 * K64], slot);
      await writer.drain();
      const plain = readFileSync(plainPath);
      expect(plain.subarray(0, K64)).toEqual(a);
      expect(plain.subarray(4 * K64, 5 * K64)).toEqual(b);
      expect(readFileSync(directPath).length).toBe(0);
    });
  });

  test('a failed direct write is thrown by drain(), not lost', async () => {
    const readOnly = openSync(directPath, constants.O_RDONLY);
    try {
      const writer = newTargetWriter();
      writer.use({ fd, directFd: readOnly });
      writer.write(rnd(K64), [0], await writer.slot(0, K64));
      await expect(writer.drain()).rejects.toMatchObject({ code: 'EBADF' });
      // And every later use of the writer, until a new one is made.
      expect(() => writer.use({ fd })).toThrow(/EBADF|bad file/i);
    } finally {
      closeSync(readOnly);
    }
  });
});
