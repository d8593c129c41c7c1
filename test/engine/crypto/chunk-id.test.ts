import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { ID_LENGTH, chunkIds, chunkIdsInJs } from '../../../engine/crypto/chunk-id';
import { loadAddon } from '../../../engine/native-addon';
import { prng } from '../../helpers';

interface ChunkIdAddon {
  hmacSha256Ranges(key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array): void;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Chunks of a batch: `lengths` laid one after the other from `first`, as the pipeline lays them. */
function ranges(first: number, lengths: number[]): { starts: Uint32Array; lengths: Uint32Array } {
  const starts = new Uint32Array(lengths.length);
  for (let i = 0, at = first; i < lengths.length; at += lengths[i], i++) starts[i] = at;
  return { starts, lengths: Uint32Array.from(lengths) };
}

describe('chunk ids of a batch (HMAC-SHA256, FORMAT.md §5)', () => {
  const linux = process.platform === 'linux' ? it : it.skip;
  const addon = loadAddon<ChunkIdAddon>('chunk_id');

  linux('the native addon is built by npm ci and loads', () => {
    expect(addon).not.toBeNull();
  });

  it('RFC 4231 test case 2, both paths', () => {
    const key = Buffer.from('Jefe');
    const data = Buffer.from('what do ya want for nothing?');
    const r = ranges(0, [data.length]);
    for (const f of [chunkIds, chunkIdsInJs]) {
      const ids = new Uint8Array(ID_LENGTH);
      f(key, data, r.starts, r.lengths, 1, ids);
      expect(hex(ids)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    }
  });

  it('matches an independent HMAC for every chunk of a batch in shared memory at an offset', () => {
    const rnd = prng(7);
    const key = rnd(32);
    const lengths = [65536, 1, 0, 4096, 65536 * 3 + 17, 63, 64, 65, 12345];
    const total = lengths.reduce((a, b) => a + b, 0);
    // A batch is a view into shared (WebAssembly) memory, not at its start.
    const memory = new Uint8Array(new SharedArrayBuffer(total + 8192));
    memory.set(rnd(total + 8192));
    const data = Buffer.from(memory.buffer, 100, total + 50);
    const r = ranges(7, lengths);
    const count = lengths.length - 1; // the last chunk is not asked for
    const native = new Uint8Array((count + 1) * ID_LENGTH).fill(0xee);
    const js = new Uint8Array((count + 1) * ID_LENGTH).fill(0xee);
    chunkIds(key, data, r.starts, r.lengths, count, native);
    chunkIdsInJs(key, data, r.starts, r.lengths, count, js);
    for (let i = 0; i < count; i++) {
      const expected = hex(hmac(sha256, key, data.subarray(r.starts[i], r.starts[i] + r.lengths[i])));
      expect(hex(native.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH))).toBe(expected);
      expect(hex(js.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH))).toBe(expected);
    }
    expect(native.subarray(count * ID_LENGTH).every((b) => b === 0xee)).toBe(true);
  });

  linux('both paths refuse arguments that do not fit before they hash anything', () => {
    if (!addon) throw new Error('the chunk_id addon is not built');
    const key = new Uint8Array(32);
    const data = new Uint8Array(1000);
    const ids = new Uint8Array(2 * ID_LENGTH).fill(0xee);
    const ok = ranges(0, [500, 500]);
    const outside = ranges(0, [500, 501]);
    // The addon's errors come from Node's realm, not jest's: compare names, not constructors.
    const thrown = (f: () => void): string => {
      try {
        f();
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
      return 'nothing thrown';
    };
    expect(thrown(() => addon.hmacSha256Ranges(key, data, outside.starts, outside.lengths, 2, ids))).toBe("RangeError: a chunk's range lies outside data");
    expect(thrown(() => addon.hmacSha256Ranges(key, data, ok.starts, ok.lengths, 3, ids))).toBe('RangeError: count is larger than starts or lengths');
    expect(thrown(() => addon.hmacSha256Ranges(key, data, ok.starts, ok.lengths, 2, ids.subarray(0, 63)))).toBe('RangeError: ids is shorter than 32 bytes per chunk');
    expect(thrown(() => addon.hmacSha256Ranges(key, data, new Int32Array(2) as unknown as Uint32Array, ok.lengths, 2, ids))).toMatch(/^TypeError: expected \(key: Uint8Array/);
    expect(thrown(() => chunkIdsInJs(key, data, outside.starts, outside.lengths, 2, ids))).toBe("RangeError: a chunk's range lies outside data");
    expect(thrown(() => chunkIdsInJs(key, data, ok.starts, ok.lengths, 3, ids))).toBe('RangeError: count is larger than starts or lengths');
    expect(thrown(() => chunkIdsInJs(key, data, ok.starts, ok.lengths, 2, ids.subarray(0, 63)))).toBe('RangeError: ids is shorter than 32 bytes per chunk');
    expect(ids.every((b) => b === 0xee)).toBe(true);
  });
});
