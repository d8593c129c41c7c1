import { randomBytes } from 'node:crypto';
import { MemoryIndex } from '../../../engine/store/memory-index';
import { BLOB_DATA, BLOB_MAP } from '../../../engine/store/blob';

it('finds every added blob, misses unknown ones, and survives growth', () => {
  const index = new MemoryIndex(16);
  const ids = Array.from({ length: 50000 }, () => randomBytes(32));
  const packs = ['aa'.repeat(32), 'bb'.repeat(32)];
  ids.forEach((id, i) => index.add(index.packNumber(packs[i % 2]), { type: i % 7 === 0 ? BLOB_MAP : BLOB_DATA, id, offset: i * 3, length: i + 1, rawLength: i + 2 }));
  expect(index.size).toBe(ids.length);
  // Collect mismatches and assert once: 50000 expect() calls would dominate the test's time.
  const wrong: number[] = [];
  ids.forEach((id, i) => {
    const e = index.find(id);
    if (e < 0) return wrong.push(i);
    const { pack, blob } = index.entry(e);
    const ok = pack === packs[i % 2] && blob.offset === i * 3 && blob.length === i + 1 && blob.rawLength === i + 2 &&
      blob.type === (i % 7 === 0 ? BLOB_MAP : BLOB_DATA) && Buffer.from(blob.id).equals(id);
    if (!ok) wrong.push(i);
  });
  expect(wrong).toEqual([]);
  let falsePositives = 0;
  for (let i = 0; i < 1000; i++) if (index.has(randomBytes(32))) falsePositives++;
  expect(falsePositives).toBe(0);
});

it('keeps the first location of a blob added twice', () => {
  const index = new MemoryIndex();
  const id = randomBytes(32);
  index.add(index.packNumber('01'.repeat(32)), { type: BLOB_DATA, id, offset: 5, length: 10, rawLength: 10 });
  index.add(index.packNumber('02'.repeat(32)), { type: BLOB_DATA, id, offset: 7, length: 10, rawLength: 10 });
  expect(index.size).toBe(1);
  expect(index.entry(index.find(id)).blob.offset).toBe(5);
});

it('stays under 64 bytes per blob once sized for its content', () => {
  const n = 1 << 16;
  const index = new MemoryIndex(n);
  for (let i = 0; i < n; i++) index.add(0, { type: BLOB_DATA, id: randomBytes(32), offset: 0, length: 1, rawLength: 1 });
  expect(index.byteSize / n).toBeLessThan(64);
});
