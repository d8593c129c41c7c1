import { initRepository, openRepository } from '../../../engine';
import { MAP_PAGE_EXTENTS, MapPageEncoder, decodeMapPage, encodeMapPage } from '../../../engine/store/disk-map';
import { BlobWriter } from '../../../engine/store/blob-writer';
import { readBlob } from '../../../engine/store/blob-reader';
import { DiskMapWriter } from '../../../engine/store/snapshots';
import { PASS, TEST_INIT, tempDir } from '../../helpers';

/** A map page laid out by hand from FORMAT.md §8 (integers little-endian, §1). */
function pageBytes(extents: Array<{ offset: bigint; length: bigint; id?: Buffer }>): Buffer {
  const parts: Buffer[] = [Buffer.from('SCWM'), Buffer.of(1), Buffer.alloc(4)];
  parts[2].writeUInt32LE(extents.length);
  for (const e of extents) {
    const head = Buffer.alloc(17);
    head[0] = e.id ? 1 : 0;
    head.writeBigUInt64LE(e.offset, 1);
    head.writeBigUInt64LE(e.length, 9);
    parts.push(head);
    if (e.id) parts.push(e.id);
  }
  return Buffer.concat(parts);
}

describe('disk map pages (FORMAT.md §8)', () => {
  const id = (n: number): Buffer => Buffer.alloc(32, n);

  it('encodes extents as the format lays them out, offsets past 4 GiB included', () => {
    const tib = 2n ** 40n;
    const extents = [
      { offset: 0n, length: 65536n, id: id(1) },
      { offset: 65536n, length: 5n * tib - 65536n },
      { offset: 5n * tib, length: 2n ** 32n + 12345n, id: id(2) },
    ];
    const expected = pageBytes(extents);
    const encoded = encodeMapPage(extents.map((e) => ({ offset: Number(e.offset), length: Number(e.length), id: e.id })));
    expect(encoded.toString('hex')).toBe(expected.toString('hex'));
    const end = Number(5n * tib + 2n ** 32n + 12345n);
    expect(decodeMapPage(encoded, 'page', 0, end).map((e) => [e.offset, e.length, e.id && Buffer.from(e.id).toString('hex')])).toEqual([
      [0, 65536, id(1).toString('hex')],
      [65536, Number(5n * tib - 65536n), undefined],
      [Number(5n * tib), Number(2n ** 32n + 12345n), id(2).toString('hex')],
    ]);
  });

  it('lengthens a hole that a hole follows, and nothing else', () => {
    const enc = new MapPageEncoder();
    expect(enc.extendHole(0, 10)).toBe(false); // nothing yet
    enc.push(0, 100);
    expect(enc.extendHole(100, 2 ** 33)).toBe(true);
    expect(enc.extendHole(100, 1)).toBe(false); // does not end there any more
    enc.push(100 + 2 ** 33, 4096, id(3));
    expect(enc.extendHole(100 + 2 ** 33 + 4096, 1)).toBe(false); // the last extent is data
    const page = enc.finish();
    expect(page.toString('hex')).toBe(pageBytes([
      { offset: 0n, length: 100n + 2n ** 33n },
      { offset: 100n + 2n ** 33n, length: 4096n, id: id(3) },
    ]).toString('hex'));
    expect(enc.empty).toBe(true);
  });

  it('a writer stores full pages as it goes, asks to be awaited only then, and covers the disk in order', async () => {
    const dir = await tempDir();
    try {
      await initRepository(dir.path, PASS, TEST_INIT);
      const repo = await openRepository(dir.path, PASS);
      await repo.loadIndex();
      const writer = new BlobWriter(repo);
      const map = new DiskMapWriter(repo, writer);
      const chunks = MAP_PAGE_EXTENTS / 2 + 10;
      let offset = 0;
      let waits = 0;
      const add = async (flushed: Promise<void> | undefined): Promise<void> => {
        if (!flushed) return;
        waits++;
        await flushed;
      };
      for (let i = 0; i < chunks; i++) {
        // Two holes in a row make one extent; then a data chunk.
        await add(map.hole(offset, 7));
        offset += 7;
        await add(map.hole(offset, 9));
        offset += 9;
        await add(map.data(offset, 100, id(i % 251)));
        offset += 100;
      }
      expect(() => map.data(offset + 1, 1, id(0))).toThrow(/does not follow/);
      const pages = await map.finish();
      await writer.flush();
      // 2 extents per chunk: the first page is full, the rest is on the second.
      expect(waits).toBe(1);
      expect(pages.map((p) => [p.offset, p.length])).toEqual([
        [0, (MAP_PAGE_EXTENTS / 2) * 116],
        [(MAP_PAGE_EXTENTS / 2) * 116, (chunks - MAP_PAGE_EXTENTS / 2) * 116],
      ]);
      const decoded = [];
      for (const p of pages) decoded.push(...decodeMapPage(await readBlob(repo, Buffer.from(p.id, 'hex')), p.id, p.offset, p.length));
      expect(decoded).toHaveLength(2 * chunks);
      expect(decoded.slice(0, 4).map((e) => [e.offset, e.length, e.id ? e.id[0] : -1])).toEqual([[0, 16, -1], [16, 100, 0], [116, 16, -1], [132, 100, 1]]);
    } finally {
      await dir.cleanup();
    }
  });
});
