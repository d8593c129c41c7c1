import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openQcow2, planQcow2, qcow2Stream, qcow2StreamLength } from '../../../engine/qcow2';
import { FileRangeReader } from '../../../engine/source/range-reader';
import type { DiskSource, Extent } from '../../../engine/source/disk-source';
import {
  baseDisk,
  collect,
  KiB,
  makeTempDir,
  memorySource,
  MiB,
  prng,
  qemuImg,
  qemuImgStatus,
  qemuMap,
  randomBytes,
  readWhole,
  removeDir,
  textBytes,
  writeStream,
} from './helpers';

let dir: string;
beforeAll(() => {
  dir = makeTempDir();
});
afterAll(() => removeDir(dir));

let counter = 0;

/**
 * Stream `source` to a file, then hold it against qemu: `qemu-img check` clean (no errors, no
 * leaks), `qemu-img compare` identical to `raw` (the same disk as a raw file).
 */
async function writeAndCheck(source: DiskSource, raw: Uint8Array, clusterSize?: number): Promise<string> {
  const n = counter++;
  const out = join(dir, `out-${n}.qcow2`);
  const rawFile = join(dir, `src-${n}.raw`);
  writeFileSync(rawFile, raw);
  const plan = await planQcow2(source, { clusterSize });
  const written = await writeStream(qcow2Stream(source, { plan }), out);
  expect(written).toBe(plan.length);
  expect(statSync(out).size).toBe(plan.length);

  const check = qemuImgStatus('check', '--output=json', out);
  if (check.status !== 0) throw new Error(`qemu-img check failed (${check.status}): ${check.stdout}${check.stderr}`);
  const report = JSON.parse(check.stdout) as Record<string, unknown>;
  expect(report['corruptions'] ?? 0).toBe(0);
  expect(report['leaks'] ?? 0).toBe(0);
  expect(report['check-errors'] ?? 0).toBe(0);
  expect(qemuImg('check', out)).toMatch(/No errors were found/);

  const cmp = qemuImgStatus('compare', '-f', 'raw', '-F', 'qcow2', rawFile, out);
  if (cmp.status !== 0) throw new Error(`qemu-img compare: ${cmp.stdout}${cmp.stderr}`);
  expect(cmp.stdout).toMatch(/Images are identical/);

  // Our own reader agrees, and only non-zero clusters were allocated.
  const img = await openQcow2(await FileRangeReader.open(out));
  try {
    const back = await readWhole(img);
    expect(back.subarray(0, raw.length).equals(Buffer.from(raw))).toBe(true);
    expect(back.subarray(raw.length).every((b) => b === 0)).toBe(true);
  } finally {
    await img.close();
  }
  return out;
}

describe('qcow2Stream', () => {
  it.each([512, 4096, 65536, 2 * MiB])('writes a disk with holes that qemu accepts (cluster %d)', async (cs) => {
    const raw = baseDisk();
    const out = await writeAndCheck(memorySource(raw), raw, cs);
    // Holes stay holes: qemu sees no data where the source is zero at cluster granularity.
    for (const m of qemuMap(out)) {
      if (!m.data) continue;
      const first = Math.floor(m.start / cs) * cs;
      for (let c = first; c < m.start + m.length; c += cs) {
        expect(raw.subarray(c, Math.min(c + cs, raw.length)).some((b) => b !== 0)).toBe(true);
      }
    }
  });

  it('writes only clusters that intersect extents and are not all zero', async () => {
    const size = 8 * MiB;
    const raw = Buffer.alloc(size);
    textBytes(100 * KiB).copy(raw, 200 * KiB);
    randomBytes(prng(1), 3000).copy(raw, 5 * MiB + 100);
    // The source claims more than it has: a whole 1 MiB extent of zeros plus the real data.
    const extents: Extent[] = [
      { offset: 0, length: 1 * MiB },
      { offset: 5 * MiB, length: 64 * KiB },
      { offset: 7 * MiB, length: 1 * MiB },
    ];
    const src = memorySource(raw, extents);
    const plan = await planQcow2(src);
    // 200K..300K touches clusters 3 and 4; the random bytes sit in cluster 80. The zero parts of
    // the extents (and the whole 7 MiB one) are left unallocated.
    expect(plan.dataClusters).toBe(3);
    expect(plan.l2Tables).toBe(1);
    const out = await writeAndCheck(src, raw);
    const data = qemuMap(out).filter((m) => m.data);
    expect(data.map((m) => [m.start, m.length])).toEqual([
      [3 * 64 * KiB, 2 * 64 * KiB],
      [80 * 64 * KiB, 64 * KiB],
    ]);
  });

  it('handles a size that is not a cluster multiple, and not even a sector multiple', async () => {
    for (const size of [64 * KiB + 512, 3 * MiB + 4096 + 512, 100_000, 1]) {
      const raw = textBytes(size, size);
      const src = memorySource(raw);
      const plan = await planQcow2(src);
      expect(plan.virtualSize).toBe(Math.ceil(size / 512) * 512);
      const out = join(dir, `odd-${size}.qcow2`);
      await writeStream(qcow2Stream(src, { plan }), out);
      expect(qemuImgStatus('check', out).status).toBe(0);
      const img = await openQcow2(await FileRangeReader.open(out));
      const back = await readWhole(img);
      await img.close();
      expect(back.subarray(0, size).equals(raw)).toBe(true);
    }
    // Sector multiples compare identical with qemu too.
    const raw = textBytes(3 * MiB + 4096 + 512);
    await writeAndCheck(memorySource(raw), raw);
  });

  it('writes an empty disk and an all-hole disk', async () => {
    await writeAndCheck(memorySource(Buffer.alloc(0)), Buffer.alloc(0));
    const zeros = Buffer.alloc(16 * MiB);
    const out = await writeAndCheck(memorySource(zeros, [{ offset: 0, length: zeros.length }]), zeros);
    expect(qemuMap(out).every((m) => !m.data)).toBe(true);
  });

  it('knows its exact length up front and agrees with the stream', async () => {
    const raw = baseDisk();
    const src = memorySource(raw);
    const len = await qcow2StreamLength(src);
    const chunks = await collect(qcow2Stream(src));
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(len);
  });

  it('can trust extents without reading data while planning', async () => {
    const raw = Buffer.alloc(4 * MiB);
    textBytes(10 * KiB).copy(raw, 1 * MiB);
    const src = memorySource(raw, [{ offset: 0, length: 2 * MiB }]);
    const plan = await planQcow2(src, { skipZeroClusters: false });
    expect(src.reads).toBe(0);
    expect(plan.dataClusters).toBe(32);
    await writeAndCheck(src, raw);
  });

  it('refuses bad options and bad extents', async () => {
    const src = memorySource(Buffer.alloc(4096));
    await expect(planQcow2(src, { clusterSize: 1000 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(planQcow2(src, { clusterSize: 4 * MiB })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const bad = memorySource(Buffer.alloc(4096), [{ offset: 0, length: 8192 }]);
    await expect(planQcow2(bad)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('round-trips a QCOW2 source (read by openQcow2, written by qcow2Stream)', async () => {
    const raw = baseDisk();
    const rawFile = join(dir, 'rt.raw');
    writeFileSync(rawFile, raw);
    const original = join(dir, 'rt.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-c', '-o', 'cluster_size=4096', rawFile, original);
    const img = await openQcow2(await FileRangeReader.open(original));
    try {
      const out = await writeAndCheck(img, raw);
      expect(qemuImgStatus('compare', original, out).status).toBe(0);
    } finally {
      await img.close();
    }
    expect(readFileSync(rawFile).equals(raw)).toBe(true);
  });
});
