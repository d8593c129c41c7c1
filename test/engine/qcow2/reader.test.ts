import { execFileSync } from 'node:child_process';
import { copyBudget } from './helpers';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openQcow2, isQcow2, type Qcow2Image } from '../../../engine/qcow2';
import { FileRangeReader } from '../../../engine/source/range-reader';
import type { Extent } from '../../../engine/source/disk-source';
import {
  baseDisk,
  collect,
  KiB,
  makeTempDir,
  MemoryRangeReader,
  MiB,
  qemuImg,
  qemuIo,
  qemuMap,
  readWhole,
  removeDir,
  toRaw,
} from './helpers';

interface Variant {
  name: string;
  /** Builds `out` (a qcow2 file) from the base raw image `raw`. */
  make(raw: string, out: string, dir: string): void;
}

const convert = (opts: string, compressed = false) => (raw: string, out: string): void => {
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', ...(opts ? ['-o', opts] : []), ...(compressed ? ['-c'] : []), raw, out);
};

/** An image written by qemu-io: partial clusters, zero writes (with and without unmap), discards. */
const written = (opts: string) => (_raw: string, out: string): void => {
  qemuImg('create', '-q', '-f', 'qcow2', '-o', opts, out, String(8 * MiB));
  qemuIo(
    out,
    'qcow2',
    'write -P 0xab 0 100k',
    'write -P 0x11 70k 4k',
    'write -P 0x22 1M 3k',
    'write -P 0x33 2M 512k',
    'write -z 2112k 128k',
    'write -z -u 2304k 64k',
    'write -P 0x44 5M 1M',
    'discard 5376k 128k',
    'write -z 7M 1M',
    'write -P 0x55 8380416 4096',
  );
};

const variants: Variant[] = [
  { name: 'cluster 512', make: convert('cluster_size=512') },
  { name: 'cluster 4k', make: convert('cluster_size=4096') },
  { name: 'cluster 64k', make: convert('') },
  { name: 'cluster 2M', make: convert('cluster_size=2097152') },
  { name: 'compressed deflate 64k', make: convert('', true) },
  { name: 'compressed deflate 512', make: convert('cluster_size=512', true) },
  { name: 'compressed deflate 4k', make: convert('cluster_size=4096', true) },
  { name: 'compressed deflate 2M', make: convert('cluster_size=2097152', true) },
  { name: 'compressed zstd 64k', make: convert('compression_type=zstd', true) },
  { name: 'compressed zstd 16k', make: convert('compression_type=zstd,cluster_size=16384', true) },
  { name: 'compressed zstd 2M', make: convert('compression_type=zstd,cluster_size=2097152', true) },
  { name: 'compressed zstd 512', make: convert('compression_type=zstd,cluster_size=512', true) },
  { name: 'extended L2 64k', make: convert('extended_l2=on') },
  { name: 'extended L2 16k', make: convert('extended_l2=on,cluster_size=16384') },
  { name: 'extended L2 compressed', make: convert('extended_l2=on', true) },
  { name: 'version 2 (compat=0.10)', make: convert('compat=0.10') },
  { name: 'version 2 compressed', make: convert('compat=0.10', true) },
  { name: 'lazy refcounts', make: convert('lazy_refcounts=on') },
  { name: 'preallocation=metadata', make: convert('preallocation=metadata') },
  { name: 'preallocation=falloc', make: convert('preallocation=falloc') },
  { name: 'preallocation=full', make: convert('preallocation=full') },
  { name: 'qemu-io writes 64k', make: written('cluster_size=65536') },
  { name: 'qemu-io writes 4k', make: written('cluster_size=4096') },
  { name: 'qemu-io writes extended L2', make: written('extended_l2=on') },
  { name: 'qemu-io writes extended L2 32k', make: written('extended_l2=on,cluster_size=32768') },
  { name: 'qemu-io writes v2', make: written('compat=0.10') },
  { name: 'qemu-io writes preallocation=metadata', make: written('preallocation=metadata') },
];

let dir: string;
let raw: string;

beforeAll(() => {
  dir = makeTempDir();
  raw = join(dir, 'base.raw');
  writeFileSync(raw, baseDisk());
});

afterAll(() => removeDir(dir));

/** Every extent lies inside ranges qemu reports as data, and all non-zero qemu data is covered. */
function checkExtentsAgainstMap(extents: Extent[], file: string, size: number): void {
  const map = qemuMap(file);
  const data = map.filter((m) => m.data);
  for (const e of extents) {
    expect(e.length).toBeGreaterThan(0);
    expect(e.offset + e.length).toBeLessThanOrEqual(size);
    let pos = e.offset;
    for (const m of data) {
      if (m.start <= pos && pos < m.start + m.length) pos = m.start + m.length;
    }
    if (pos < e.offset + e.length) throw new Error(`extent ${e.offset}+${e.length} is not all data in qemu-img map (stops at ${pos})`);
  }
  for (let i = 1; i < extents.length; i++) {
    // Ascending, non-overlapping and coalesced: adjacent extents would have been merged.
    expect(extents[i].offset).toBeGreaterThan(extents[i - 1].offset + extents[i - 1].length);
  }
  for (const m of data.filter((x) => !x.zero)) {
    let pos = m.start;
    for (const e of extents) if (e.offset <= pos && pos < e.offset + e.length) pos = e.offset + e.length;
    if (pos < Math.min(m.start + m.length, size)) throw new Error(`qemu data ${m.start}+${m.length} not covered by extents`);
  }
}

describe.each(variants)('openQcow2 reads $name', ({ name, make }) => {
  let file: string;
  let expected: Buffer;

  beforeAll(() => {
    const sub = join(dir, name.replace(/[^a-z0-9]+/gi, '_'));
    mkdirSync(sub);
    file = join(sub, 'img.qcow2');
    make(raw, file, sub);
    expected = toRaw(file, join(sub, 'img.raw'));
  });

  it('gives the same guest bytes as qemu-img convert -O raw, through a file and a memory reader', async () => {
    const img = await openQcow2(await FileRangeReader.open(file));
    try {
      expect(img.info).toEqual({ format: 'qcow2', location: file });
      expect(img.size).toBe(expected.length);
      expect((await readWhole(img)).equals(expected)).toBe(true);
    } finally {
      await img.close();
    }
    // A reader without readInto (like an S3 object), odd-sized reads across cluster boundaries.
    const mem = await openQcow2(new MemoryRangeReader('mem', readFileSync(file)), { l2CacheTables: 1 });
    expect((await readWhole(mem, 777 * 1024 + 3)).equals(expected)).toBe(true);
  });

  it('lists only allocated extents and never reads holes', async () => {
    const img = await openQcow2(await FileRangeReader.open(file));
    try {
      const extents = await collect(img.extents());
      checkExtentsAgainstMap(extents, file, img.size);
      // Reading only the extents gives the whole disk (outside them it is all zeros).
      const got = Buffer.alloc(img.size);
      for (const e of extents) await img.read(e.offset, got.subarray(e.offset, e.offset + e.length));
      expect(got.equals(expected)).toBe(true);
      const allocated = extents.reduce((n, e) => n + e.length, 0);
      const metadata = 2 * img.clusterSize + 64 * KiB + img.stats.l2TablesLoaded * img.clusterSize + (img.size / img.clusterSize) * 8;
      const slack = /compressed/.test(name) ? (allocated / img.clusterSize + 1) * 1024 : img.clusterSize;
      expect(img.stats.bytesRead).toBeLessThanOrEqual(allocated + metadata + slack);
      // The compressed variants really hold compressed clusters (the text compresses).
      const dataRead = img.stats.bytesRead - img.stats.l2TablesLoaded * img.clusterSize - 64 * KiB;
      if (/compressed/.test(name)) expect(dataRead).toBeLessThan(allocated * 0.8);
    } finally {
      await img.close();
    }
  });
});

describe('openQcow2 on real data', () => {
  let fsImage: string;
  let expected: Buffer;

  beforeAll(() => {
    const content = join(dir, 'rootfs');
    mkdirSync(content);
    copyBudget('/usr/share/doc', join(content, 'doc'), 20 * MiB);
    fsImage = join(dir, 'ext4.raw');
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', content, fsImage, '64M'], { stdio: 'ignore' });
    expected = readFileSync(fsImage);
  });

  it.each([
    ['plain', [] as string[]],
    ['compressed', ['-c']],
    ['zstd compressed', ['-c', '-o', 'compression_type=zstd']],
    ['extended L2', ['-o', 'extended_l2=on']],
  ])('reads an ext4 filesystem image (%s)', async (label, args) => {
    const out = join(dir, `ext4-${label.replace(/ /g, '_')}.qcow2`);
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', ...args, fsImage, out);
    const img = await openQcow2(await FileRangeReader.open(out));
    try {
      expect((await readWhole(img, 4 * MiB)).equals(expected)).toBe(true);
      const extents = await collect(img.extents());
      checkExtentsAgainstMap(extents, out, img.size);
      const allocated = extents.reduce((n, e) => n + e.length, 0);
      expect(allocated).toBeLessThan(expected.length);
      expect(img.stats.bytesRead).toBeLessThanOrEqual(statSync(out).size);
    } finally {
      await img.close();
    }
  });
});

describe('isQcow2', () => {
  it('checks the magic', () => {
    expect(isQcow2(Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'))).toBe(true);
    expect(isQcow2(Buffer.from('QFI', 'latin1'))).toBe(false);
    expect(isQcow2(Buffer.alloc(512))).toBe(false);
  });
});

describe('reads', () => {
  let img: Qcow2Image;
  beforeAll(async () => {
    const file = join(dir, 'reads.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, file);
    img = await openQcow2(await FileRangeReader.open(file));
  });
  afterAll(() => img.close());

  it('coalesces contiguous clusters into one reader call', async () => {
    const before = img.stats.reads;
    await img.read(1 * MiB, Buffer.alloc(1 * MiB));
    // One L2 table (maybe) plus one data read for 16 contiguous clusters.
    expect(img.stats.reads - before).toBeLessThanOrEqual(2);
  });

  it('refuses reads outside the disk', async () => {
    await expect(img.read(img.size - 10, Buffer.alloc(11))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(img.read(-1, Buffer.alloc(1))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await img.read(img.size, Buffer.alloc(0));
  });
});
