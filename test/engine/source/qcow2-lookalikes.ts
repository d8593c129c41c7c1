/**
 * Raw disks whose guest wrote a QCOW2 header into the first sector (issue #21), and a QCOW2 image
 * of a disk too large for a local file system, written by hand from qemu's docs/interop/qcow2.txt
 * ("the spec"): every field at its fixed big-endian offset. Not through our writer, so a bug there
 * cannot hide one in the reader. Each image is also a QCOW2 that `qemu-img check -f qcow2` finds
 * clean: refcounts included, so the test proves the header is one qemu itself would open.
 */
import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { prng } from '../../helpers';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Spec "Header": the magic "QFI\xfb", bytes 0-3. */
const MAGIC = 0x514649fb;
/** Spec "Cluster mapping": bit 63 of an L1/L2 entry, "refcount is exactly one". */
const COPIED = 1n << 63n;

interface Layout {
  clusterBits: number;
  /** Virtual disk size (spec "Header" bytes 24-31). */
  size: number;
  l1Offset: number;
  l1: bigint[];
  refcountTableOffset: number;
  refcountBlockOffset: number;
  /** Refcount of each host cluster (by index) that the image uses. */
  refcounts: Map<number, number>;
}

/** A version 3 header (spec "Header"): 104 bytes, then the end of the header extensions. */
function header(l: Layout): Buffer {
  const h = Buffer.alloc(112);
  h.writeUInt32BE(MAGIC, 0);
  h.writeUInt32BE(3, 4); // version
  // 8-15 backing_file_offset, 16-19 backing_file_size: 0, no backing file
  h.writeUInt32BE(l.clusterBits, 20);
  h.writeBigUInt64BE(BigInt(l.size), 24);
  // 32-35 crypt_method: 0
  h.writeUInt32BE(l.l1.length, 36); // l1_size
  h.writeBigUInt64BE(BigInt(l.l1Offset), 40);
  h.writeBigUInt64BE(BigInt(l.refcountTableOffset), 48);
  h.writeUInt32BE(1, 56); // refcount_table_clusters
  // 60-63 nb_snapshots, 64-71 snapshots_offset, 72-95 feature bitmaps: 0
  h.writeUInt32BE(4, 96); // refcount_order: 16-bit refcounts
  h.writeUInt32BE(104, 100); // header_length
  // 104-111: header extension type 0 ("end of the header extension area"), length 0
  return h;
}

/** Header, L1 table, refcount table (one block) and refcount block (spec "Host cluster management"). */
function metadata(l: Layout): Array<{ offset: number; data: Buffer }> {
  const l1 = Buffer.alloc(l.l1.length * 8);
  l.l1.forEach((e, i) => l1.writeBigUInt64BE(e, i * 8));
  const table = Buffer.alloc(8);
  table.writeBigUInt64BE(BigInt(l.refcountBlockOffset));
  const clusterSize = 2 ** l.clusterBits;
  const block = Buffer.alloc(clusterSize);
  for (const [cluster, count] of l.refcounts) block.writeUInt16BE(count, cluster * 2);
  return [
    { offset: 0, data: header(l) },
    { offset: l.l1Offset, data: l1 },
    { offset: l.refcountTableOffset, data: table },
    { offset: l.refcountBlockOffset, data: block },
  ];
}

function writeParts(path: string, fileSize: number, parts: Array<{ offset: number; data: Uint8Array }>): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) writeSync(fd, p.data, 0, p.data.length, p.offset);
    ftruncateSync(fd, fileSize); // the rest stays holes
  } finally {
    closeSync(fd);
  }
}

/** Lines of text, as a guest's files would hold. */
export function guestText(n: number, salt: string): Buffer {
  const line = Buffer.from(`${salt}: the guest wrote this line into its own disk, 0123456789\n`);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = line[i % line.length];
  return b;
}

/**
 * Issue #21 (a): a raw 64 MiB disk. Its first sector holds a valid QCOW2 v3 header describing an
 * empty 64 MiB disk (64 KiB clusters; the one L1 entry is 0, spec "Cluster mapping": unallocated);
 * clusters 1-3 hold that image's L1 and refcount structures, and the rest of the disk is guest data
 * (text after the header in cluster 0, then text and random data to the end).
 */
export function writeEmptyDiskLookalike(path: string): void {
  const c = 64 * 1024;
  const size = 64 * MiB;
  const parts = metadata({
    clusterBits: 16, size, l1Offset: c, l1: [0n], refcountTableOffset: 2 * c, refcountBlockOffset: 3 * c,
    refcounts: new Map([[0, 1], [1, 1], [2, 1], [3, 1]]),
  });
  parts.push({ offset: 512, data: guestText(c - 512, 'boot area') });
  const random = prng(2101);
  for (let at = 4 * c; at < size; at += MiB) {
    const len = Math.min(MiB, size - at);
    parts.push({ offset: at, data: (at / MiB) % 2 === 0 ? guestText(len, `block ${at}`) : random(len) });
  }
  writeParts(path, size, parts);
}

/**
 * Issue #21 (b): a raw 1 GiB disk, mostly holes. Its first sector holds a QCOW2 v3 header whose two
 * L2 tables map every guest cluster of the 1 GiB it describes onto one cluster of text (64 KiB
 * clusters: 8192 entries per L2 table, spec "Cluster mapping"). Read as QCOW2, the disk is that text
 * 16384 times; read as what it is, it is 448 KiB of data and holes.
 */
export function writeTextMapLookalike(path: string): void {
  const c = 64 * 1024;
  const size = GiB;
  const l2Entries = c / 8;
  const dataCluster = 4;
  const l2 = Buffer.alloc(c);
  for (let i = 0; i < l2Entries; i++) l2.writeBigUInt64BE(BigInt(dataCluster * c), i * 8);
  const parts = metadata({
    clusterBits: 16, size, l1Offset: c, l1: [BigInt(2 * c) | COPIED, BigInt(3 * c) | COPIED],
    refcountTableOffset: 5 * c, refcountBlockOffset: 6 * c,
    // The data cluster is referenced by every L2 entry: its refcount says so (no COPIED bit there).
    refcounts: new Map([[0, 1], [1, 1], [2, 1], [3, 1], [dataCluster, size / c], [5, 1], [6, 1]]),
  });
  parts.push({ offset: 2 * c, data: l2 }, { offset: 3 * c, data: l2 }, { offset: dataCluster * c, data: guestText(c, 'one cluster') });
  writeParts(path, size, parts);
}

/**
 * A QCOW2 image of an empty disk of `size` bytes (up to 2^53 - 1, the largest our reader takes):
 * 2 MiB clusters keep the L1 table at 128 KiB (one entry per 512 GiB, spec "Cluster mapping").
 */
export function writeHugeEmptyQcow2(path: string, size: number): void {
  const c = 2 * MiB;
  const l1Entries = Math.ceil(size / (c * (c / 8)));
  writeParts(path, 4 * c, metadata({
    clusterBits: 21, size, l1Offset: c, l1: new Array<bigint>(l1Entries).fill(0n), refcountTableOffset: 2 * c, refcountBlockOffset: 3 * c,
    refcounts: new Map([[0, 1], [1, 1], [2, 1], [3, 1]]),
  }));
}
