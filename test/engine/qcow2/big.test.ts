import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openQcow2, planQcow2, qcow2Stream } from '../../../engine/qcow2';
import { FileRangeReader } from '../../../engine/source/range-reader';
import type { Extent } from '../../../engine/source/disk-source';
import { makeTempDir, MiB, qemuImg, qemuImgStatus, qemuIo, removeDir, writeStream } from './helpers';

const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

let dir: string;
let file: string;
const written: Extent[] = [];

beforeAll(() => {
  dir = makeTempDir();
  file = join(dir, 'big.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', file, '1T');
  // 1 MiB every 8 GiB over the first 512 GiB (64 L2 tables, more than the cache holds), plus the
  // very end of the disk.
  const commands: string[] = [];
  for (let g = 0; g < 512; g += 8) {
    commands.push(`write -P ${(g % 250) + 1} ${g * GiB} 1M`);
    written.push({ offset: g * GiB, length: MiB });
  }
  commands.push(`write -P 0x77 ${TiB - MiB} 1M`);
  written.push({ offset: TiB - MiB, length: MiB });
  qemuIo(file, 'qcow2', ...commands);
});

afterAll(() => removeDir(dir));

it('walks a 1 TiB image with 65 MiB allocated quickly, in constant memory, reading only what is allocated', async () => {
  const img = await openQcow2(await FileRangeReader.open(file), { l2CacheTables: 8 });
  try {
    expect(img.size).toBe(TiB);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    const extents: Extent[] = [];
    for await (const e of img.extents()) extents.push(e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(extents).toEqual(written);
    // Read the allocated data back, 1 MiB at a time, into one reused buffer.
    const buf = Buffer.alloc(MiB);
    for (const e of extents) {
      await img.read(e.offset, buf);
      expect(buf[0]).toBe(e.offset === TiB - MiB ? 0x77 : ((e.offset / GiB) % 250) + 1);
      expect(buf[MiB - 1]).toBe(buf[0]);
    }
    // Holes are never fetched: a read far from any data costs no data read.
    const before = img.stats.bytesRead;
    await img.read(700 * GiB, buf);
    expect(buf.every((b) => b === 0)).toBe(true);
    expect(img.stats.bytesRead).toBe(before);

    const metadata = img.stats.l2TablesLoaded * img.clusterSize + 64 * 1024 + 2 * img.clusterSize + (TiB / img.clusterSize / 8192) * 8;
    expect(img.stats.bytesRead).toBeLessThanOrEqual(written.length * MiB + metadata);
    // Each L2 table was loaded once by extents() and once more by the reads (the cache holds 8).
    expect(img.stats.l2TablesLoaded).toBeLessThanOrEqual(2 * 65);
    const heapAfter = process.memoryUsage().heapUsed;
    expect(heapAfter - heapBefore).toBeLessThan(64 * MiB);
  } finally {
    await img.close();
  }
});

it('writes a 1 TiB disk as a small QCOW2 that qemu accepts', async () => {
  const img = await openQcow2(await FileRangeReader.open(file));
  try {
    const plan = await planQcow2(img);
    // 65 MiB of data, 65 L2 tables, a 16 KiB L1 table and a few refcount clusters.
    expect(plan.dataClusters).toBe(65 * 16);
    expect(plan.length).toBeLessThan(80 * MiB);
    const out = join(dir, 'copy.qcow2');
    expect(await writeStream(qcow2Stream(img, { plan }), out)).toBe(plan.length);
    expect(statSync(out).size).toBe(plan.length);
    const check = qemuImgStatus('check', out);
    expect(check.stdout).toMatch(/No errors were found/);
    expect(check.status).toBe(0);
    expect(qemuImgStatus('compare', file, out).status).toBe(0);
  } finally {
    await img.close();
  }
});
