/**
 * A small file whose L2 entries all point at one data cluster describes a disk far larger than
 * itself (a 14 MiB file, 1 TiB allocated): the reader must refuse it after reading about the file's
 * size, not read the terabyte (docs/QCOW2.md, "Hostile input"). Images qemu writes, internal
 * snapshots included, never trip the check.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { backupImage, initRepository, listSnapshots } from '../../../engine';
import { DamagedObjectError } from '../../../engine/errors';
import { openQcow2 } from '../../../engine/qcow2';
import { FileRangeReader, type RangeReader } from '../../../engine/source/range-reader';
import { PASS, TEST_INIT } from '../../helpers';
import { collect, KiB, makeTempDir, MemoryRangeReader, MiB, qemuImg, qemuImgStatus, qemuIo, removeDir, textBytes } from './helpers';
import { SpecImage } from './spec-image';

const TiB = 1024 * 1024 * MiB;

/** A reader that counts what it serves and stops a runaway read at `limit` bytes. */
class BudgetReader extends MemoryRangeReader {
  served = 0;
  constructor(location: string, data: Uint8Array, private readonly limit: number) {
    super(location, data);
  }
  override async read(offset: number, length: number): Promise<Uint8Array> {
    this.served += length;
    if (this.served > this.limit) throw new Error(`served ${this.served} bytes of a ${this.size}-byte file: the reader is not bounded`);
    return super.read(offset, length);
  }
}

/** Every L2 entry of a `size`-byte disk points at the same data cluster (spec "Cluster mapping"). */
function sharedClusterImage(clusterBits: number, size: number): Buffer {
  const img = new SpecImage({ size, clusterBits });
  const data = img.alloc();
  img.write(data, textBytes(img.clusterSize));
  for (let c = 0; c < size / img.clusterSize; c++) img.setEntry(c, img.standard(data));
  return img.bytes();
}

/** What a backup does with a source: walk the extents and read them, 4 MiB at a time. */
async function readLikeABackup(reader: RangeReader): Promise<void> {
  const img = await openQcow2(reader);
  try {
    const buf = Buffer.alloc(4 * MiB);
    for await (const e of img.extents()) {
      for (let o = e.offset; o < e.offset + e.length; o += buf.length) await img.read(o, buf.subarray(0, Math.min(buf.length, e.offset + e.length - o)));
    }
  } finally {
    await img.close();
  }
}

let dir: string;
beforeAll(() => {
  dir = makeTempDir();
});
afterAll(() => removeDir(dir));

it('refuses a 14 MiB file mapping one cluster over 1 TiB, having read about its size', async () => {
  const bytes = sharedClusterImage(21, TiB);
  expect(bytes.length).toBe(14 * MiB);
  const reader = new BudgetReader('bomb.qcow2', bytes, 4 * bytes.length);
  const t0 = Date.now();
  const err = await readLikeABackup(reader).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DamagedObjectError);
  expect((err as Error).message).toMatch(/^bomb\.qcow2 is damaged: .* the L2 tables map \d+ bytes of the file, more than it holds \(14680064\)/);
  expect(reader.served).toBeLessThanOrEqual(2 * bytes.length);
  expect(Date.now() - t0).toBeLessThan(10_000);
});

it('backupImage refuses it too and saves no snapshot', async () => {
  const repo = await initRepository(join(dir, 'repo'), PASS, TEST_INIT);
  const bytes = sharedClusterImage(21, TiB);
  const reader = new BudgetReader('bomb.qcow2', bytes, 4 * bytes.length);
  await expect(backupImage(repo, await openQcow2(reader), { workers: 0 })).rejects.toThrow(/more than it holds/);
  expect(await listSnapshots(repo)).toEqual({ snapshots: [], damaged: [] });
});

it('qemu-img check calls such an image corrupt: qemu never maps a host cluster twice', () => {
  const file = join(dir, 'small-bomb.qcow2');
  writeFileSync(file, sharedClusterImage(16, 64 * 64 * KiB));
  const check = qemuImgStatus('check', file);
  expect(check.status).toBe(2); // corruptions found
  expect(check.stderr + check.stdout).toMatch(/refcount=1 reference=64/);
});

it('reads images qemu wrote in full, with internal snapshots sharing the active clusters', async () => {
  const file = join(dir, 'snapshots.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', file, '8M');
  qemuIo(file, 'qcow2', 'write -P 0x61 0 8M');
  qemuImg('snapshot', '-c', 'all-shared', file);
  qemuIo(file, 'qcow2', 'write -P 0x62 1M 2M');
  qemuImg('snapshot', '-c', 'after-cow', file);
  expect(qemuImgStatus('check', file).status).toBe(0);
  const reader = await FileRangeReader.open(file);
  const size = reader.size;
  const img = await openQcow2(reader, { onWarning: () => {} });
  try {
    expect(await collect(img.extents())).toEqual([{ offset: 0, length: 8 * MiB }]);
    expect(img.stats.bytesRead).toBeLessThan(size);
  } finally {
    await img.close();
  }
  // A fully allocated version 2 image (no zero clusters: preallocated data) maps every cluster once.
  const v2 = join(dir, 'v2-prealloc.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10,preallocation=metadata,cluster_size=512', v2, '4M');
  await readLikeABackup(await FileRangeReader.open(v2));
  // Compressed clusters packed byte after byte, sharing sectors, as small as they get (one repeated
  // byte compresses to a few bytes): their count stays within the file.
  const raw = join(dir, 'repeated.raw');
  writeFileSync(raw, Buffer.alloc(4 * MiB, 0x61));
  for (const opts of ['cluster_size=512', 'cluster_size=512,compression_type=zstd', 'cluster_size=65536', 'cluster_size=2M,compression_type=zstd']) {
    const out = join(dir, `repeated-${opts.replace(/[^a-z0-9]/g, '_')}.qcow2`);
    qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o', opts, raw, out);
    await readLikeABackup(await FileRangeReader.open(out));
  }
});
