import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawFileSource, backupImage, checkRepository, findSnapshot, initRepository, restoreImage } from '../../../engine';
import { Compressor, Decompressor } from '../../../engine/compress';
import { ID_LENGTH, chunkIdsInJs } from '../../../engine/crypto/chunk-id';
import { Sealer, blobAad, type SealVersion } from '../../../engine/crypto/seal';
import { deriveSubKeys } from '../../../engine/crypto/subkeys';
import { loadAddon } from '../../../engine/native-addon';
import { Batch } from '../../../engine/pipeline/batch';
import { backupChunkPool } from '../../../engine/pipeline/chunk-pool';
import { NativeChunkPool } from '../../../engine/pipeline/native-chunk-pool';
import { WorkerPool } from '../../../engine/pipeline/worker-pool';
import { PASS, TEST_INIT, makeImage, prng, tempDir, writeImage } from '../../helpers';

/**
 * native/seal.c and chunk-id.c's async call: a backup's sealing on libuv's thread pool. What they
 * write is checked by the JavaScript side of the format (engine/crypto/seal.ts opens every blob,
 * zstd-napi decompresses it), for both format versions' schemes.
 */
interface SealAddon {
  createSealer(version: number, key: Uint8Array, level: number): unknown;
  sealBatch(sealer: unknown, type: number, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, ids: Uint8Array, count: number, out: Uint8Array, outLengths: Uint32Array): Promise<number>;
}
interface ChunkIdAsync {
  hmacSha256RangesAsync(key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array): Promise<number>;
}

const linux = process.platform === 'linux' ? it : it.skip;
const seal = loadAddon<SealAddon>('seal');
const chunkId = loadAddon<ChunkIdAsync>('chunk_id');
const withAddon = seal ? it : it.skip;

/** Errors from the addon come from Node's realm, not jest's: compare names and messages. */
async function thrown(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'nothing thrown';
}

/** A batch in shared memory, not at its start: random, compressible, tiny and empty-ish chunks. */
function sampleChunks(): { data: Buffer; starts: Uint32Array; lengths: Uint32Array } {
  const rnd = prng(11);
  const parts = [rnd(65536), Buffer.alloc(65536, 'backup '), rnd(1), Buffer.alloc(40, 'a'), Buffer.alloc(3000, 'xy'), rnd(70000)];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = Buffer.from(new SharedArrayBuffer(total + 4096), 64, total + 100);
  const starts = new Uint32Array(parts.length);
  const lengths = new Uint32Array(parts.length);
  let at = 10;
  parts.forEach((p, i) => {
    starts[i] = at;
    lengths[i] = p.length;
    data.set(p, at);
    at += p.length;
  });
  return { data, starts, lengths };
}

describe('native sealing (native/seal.c, FORMAT.md §4)', () => {
  linux('is built by npm ci and loads', () => {
    expect(seal).not.toBeNull();
    expect(typeof chunkId?.hmacSha256RangesAsync).toBe('function');
  });

  describe.each([1, 2] as SealVersion[])('format version %i', (version) => {
    withAddon('writes blobs engine/crypto/seal.ts opens, compressed exactly when zstd saves 1/32', async () => {
      const key = prng(version)(32);
      const idKey = prng(5)(32);
      const { data, starts, lengths } = sampleChunks();
      const count = starts.length;
      const ids = new Uint8Array(count * ID_LENGTH);
      await chunkId!.hmacSha256RangesAsync(idKey, data, starts, lengths, count, ids);
      const expectedIds = new Uint8Array(count * ID_LENGTH);
      chunkIdsInJs(idKey, data, starts, lengths, count, expectedIds);
      expect(Buffer.from(ids).equals(Buffer.from(expectedIds))).toBe(true);

      const out = Buffer.alloc(data.length + count * 41 + 7).fill(0xee);
      const outLengths = new Uint32Array(count + 1);
      const sealer = seal!.createSealer(version, key, 3);
      const written = await seal!.sealBatch(sealer, 7, data, starts, lengths, ids, count, out, outLengths);
      expect(written).toBe(outLengths.subarray(0, count).reduce((a, b) => a + b, 0));
      expect(out.subarray(written).every((b) => b === 0xee)).toBe(true);

      const js = new Sealer(key, version);
      const zstd = new Decompressor();
      const compressor = new Compressor(3);
      const kinds: number[] = [];
      const jsKinds: number[] = [];
      let o = 0;
      for (let i = 0; i < count; i++) {
        const id = ids.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH);
        const blob = out.subarray(o, o + outLengths[i]);
        o += outLengths[i];
        expect(js.open(blobAad(6, id), blob)).toBeUndefined(); // the type is bound
        const plain = js.open(blobAad(7, id), blob);
        if (!plain) throw new Error(`blob ${i} does not open`);
        kinds.push(plain[0]);
        const chunk = data.subarray(starts[i], starts[i] + lengths[i]);
        jsKinds.push(compressor.compress(chunk) ? 1 : 0);
        const payload = plain.subarray(1);
        if (plain[0] === 1) {
          expect(payload.length).toBeLessThanOrEqual(chunk.length - (chunk.length >> 5));
          expect(zstd.decompressFrame(payload, chunk.length).equals(chunk)).toBe(true);
        } else {
          expect(payload.equals(chunk)).toBe(true);
        }
      }
      // The JavaScript path's choice (engine/compress.ts), chunk by chunk: random data stays raw.
      expect(kinds).toEqual(jsKinds);
      expect(kinds).toEqual([0, 1, 0, 1, 1, 0]);
      // Fresh random nonces: the same chunk sealed again differs.
      const again = Buffer.alloc(out.length);
      await seal!.sealBatch(sealer, 7, data, starts, lengths, ids, 1, again, outLengths);
      expect(again.subarray(0, js.nonceLength).equals(out.subarray(0, js.nonceLength))).toBe(false);
    });
  });

  withAddon('refuses arguments that do not fit before it queues anything', async () => {
    const { data, starts, lengths } = sampleChunks();
    const count = starts.length;
    const ids = new Uint8Array(count * ID_LENGTH);
    const sealer = seal!.createSealer(2, new Uint8Array(32), 1);
    const out = Buffer.alloc(data.length + count * 41).fill(0xee);
    const outLengths = new Uint32Array(count);
    const call = (o: Partial<{ sealer: unknown; count: number; out: Uint8Array; outLengths: Uint32Array; lengths: Uint32Array; ids: Uint8Array }>) => () =>
      seal!.sealBatch(o.sealer ?? sealer, 1, data, starts, o.lengths ?? lengths, o.ids ?? ids, o.count ?? count, o.out ?? out, o.outLengths ?? outLengths);
    expect(await thrown(call({ out: out.subarray(0, data.length) }))).toBe('RangeError: out is smaller than the sealed chunks may be');
    expect(await thrown(call({ lengths: Uint32Array.from([...lengths.subarray(0, count - 1), 1 << 20]) }))).toBe("RangeError: a chunk's range lies outside data");
    expect(await thrown(call({ count: count + 1 }))).toBe('RangeError: count is larger than starts or lengths');
    expect(await thrown(call({ outLengths: outLengths.subarray(1) }))).toBe('RangeError: outLengths is shorter than count');
    expect(await thrown(call({ ids: ids.subarray(1) }))).toBe('RangeError: ids is shorter than 32 bytes per chunk');
    expect(await thrown(call({ sealer: {} }))).toMatch(/^TypeError: expected \(sealer/);
    expect(out.every((b) => b === 0xee)).toBe(true);
    expect(await thrown(() => seal!.createSealer(3, new Uint8Array(32), 1))).toBe('RangeError: version must be 1 or 2');
    expect(await thrown(() => seal!.createSealer(2, new Uint8Array(31), 1))).toBe('RangeError: the key must be 32 bytes');
    expect(await thrown(() => seal!.createSealer(2, new Uint8Array(32), 99))).toBe("RangeError: level is outside zstd's levels");
  });

  withAddon('a backup uses it where it is built; worker threads and the inline path write stores that restore the same', async () => {
    const keys = deriveSubKeys(new Uint8Array(32), new Uint8Array(32), 2);
    const pools = [backupChunkPool(keys, { threads: 2 }), backupChunkPool(keys, { threads: 2, workerThreads: true }), backupChunkPool(keys, { threads: 0 })];
    try {
      expect(pools[0]).toBeInstanceOf(NativeChunkPool);
      expect(pools[0].size).toBe(2);
      expect(pools[1]).toBeInstanceOf(WorkerPool);
      expect(pools[2]).toBeInstanceOf(WorkerPool);
      expect(pools[2].size).toBe(0);
      // The native pool hashes as the others do.
      const ids: string[] = [];
      for (const pool of pools) {
        const b = new Batch(1 << 16, 4);
        await pool.register(b);
        b.push(Buffer.alloc(5000, 'z'));
        b.push(Buffer.alloc(6000, 'y'));
        await pool.hash(b);
        ids.push(Buffer.from(b.ids.subarray(0, 2 * ID_LENGTH)).toString('hex'));
      }
      expect(new Set(ids).size).toBe(1);
    } finally {
      for (const p of pools) await p.close();
    }

    const dir = await tempDir();
    try {
      const size = 5 * 1024 * 1024 + 4321;
      const img = makeImage(size, 21);
      const imgPath = await writeImage(dir.path, 'disk.img', img);
      for (const workerThreads of [false, true]) {
        const repoPath = join(dir.path, `repo-${workerThreads}`);
        const repo = await initRepository(repoPath, PASS, { ...TEST_INIT, packSize: 1 << 20 });
        const src = await RawFileSource.open(imgPath);
        const snap = await backupImage(repo, src, { window: 200000, workerThreads });
        await src.close();
        expect(snap.stats.bytesRead).toBe(size);
        const check = await checkRepository(repo, { readData: true });
        expect(check.errors).toEqual([]);
        const target = join(dir.path, `restored-${workerThreads}.img`);
        await restoreImage(repo, await findSnapshot(repo, 'latest'), target);
        expect(Buffer.compare(await readFile(target), img)).toBe(0);
      }
    } finally {
      await dir.cleanup();
    }
  });
});
