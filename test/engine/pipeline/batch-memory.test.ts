import { ALIGNMENT, alignUp, alignedShared } from '../../../engine/pipeline/aligned-memory';
import { Batch } from '../../../engine/pipeline/batch';

describe('page-aligned batch memory', () => {
  test('alignedShared gives shared memory of at least the size asked, in whole WebAssembly pages', () => {
    const m = alignedShared(100_000);
    expect(m).toBeInstanceOf(SharedArrayBuffer);
    expect(m.byteLength).toBeGreaterThanOrEqual(100_000);
    // A WebAssembly memory, not the malloc'd fallback: only those are page-aligned.
    expect(m.byteLength % 65536).toBe(0);
  });

  test('batches carved from one region keep data and output at aligned offsets, apart', () => {
    const capacity = 4 << 20;
    const maxChunks = 65;
    const region = Batch.regionBytes(capacity, maxChunks);
    expect(region % ALIGNMENT).toBe(0);
    const bytes = alignedShared(3 * region);
    const batches = [0, 1, 2].map((i) => new Batch(capacity, maxChunks, { bytes, offset: i * region }));
    for (const [i, b] of batches.entries()) {
      expect(b.data.byteOffset).toBe(i * region);
      expect(b.out.byteOffset).toBe(i * region + alignUp(capacity));
      expect(b.out.byteOffset + b.out.length).toBeLessThanOrEqual((i + 1) * region);
      expect(b.data.byteOffset % ALIGNMENT).toBe(0);
      expect(b.out.byteOffset % ALIGNMENT).toBe(0);
    }
    // A window read into batch 1 belongs to batch 1 only, and its chunks are recorded relative to its data.
    const window = batches[1].data.subarray(65536, 131072);
    expect(batches.map((b) => b.holds(window))).toEqual([false, true, false]);
    expect(batches[1].pushInPlace(window)).toBe(0);
    expect(batches[1].starts[0]).toBe(65536);
    expect(batches[1].used).toBe(131072);
  });

  test('a batch without a region gets its own aligned memory', () => {
    const b = new Batch(1 << 20, 17);
    expect(b.data.byteOffset).toBe(0);
    expect(b.shared.bytes.byteLength % 65536).toBe(0);
    expect(b.push(Buffer.from('abc'))).toBe(0);
    expect(b.data.subarray(0, 3).toString()).toBe('abc');
  });
});
