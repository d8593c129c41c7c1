import { randomBytes } from 'node:crypto';
import { MemoryIndex } from '../../../engine/store/memory-index';
import { BLOB_DATA, BLOB_MAP } from '../../../engine/store/blob';

it('finds every added blob, misses unknown ones, and survives growth', () => {
  const index = new MemoryIndex(16);
  const ids = Array.from({ length: 50000 }, () => randomBytes(32));
  const packs = ['aa'.repeat(32), 'bb'.repeat(32)];
  ids.forEach((id, i) => index.add(index.packNumber(packs[i % 2]), { type: i % 7 === 0 ? BLOB_MAP : BLOB_DATA, id, offset: i * 3, length: i + 1, rawLength: i + 2 }));
  expect(index.size).toBe(ids.length);
  ids.forEach((id, i) => {
    const e = index.find(id);
    expect(e).toBeGreaterThanOrEqual(0);
    const { pack, blob } = index.entry(e);
    expect(pack).toBe(packs[i % 2]);
    expect(blob.offset).toBe(i * 3);
    expect(blob.length).toBe(i + 1);
    expect(blob.rawLength).toBe(i + 2);
    expect(blob.type).toBe(i % 7 === 0 ? BLOB_MAP : BLOB_DATA);
    expect(Buffer.from(blob.id).equals(id)).toBe(true);
  });
  for (let i = 0; i < 1000; i++) expect(index.has(randomBytes(32))).toBe(false);
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
