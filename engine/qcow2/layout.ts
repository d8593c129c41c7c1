import { InvalidInputError } from '../errors';
import {
  DEFAULT_REFCOUNT_ORDER,
  HI_COPIED,
  L1_ENTRY_SIZE,
  L2_ENTRY_SIZE,
  MAX_CLUSTER_BITS,
  MAX_L1_BYTES,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  V3_MIN_HEADER_LENGTH,
} from './constants';
import type { ClusterBitmap } from './bitmap';

/**
 * Where everything goes in a QCOW2 file we write. In file order, each part cluster aligned:
 * header (1 cluster), L1 table, refcount table, refcount blocks, L2 tables (only those that map
 * data), data clusters (guest order). Every cluster is used exactly once, so every refcount is 1.
 */
export interface Layout {
  clusterSize: number;
  clusterBits: number;
  /** Virtual size written in the header. */
  size: number;
  guestClusters: number;
  l2Entries: number;
  l1Size: number;
  l1Clusters: number;
  refcountTableClusters: number;
  refcountBlocks: number;
  l2Tables: number;
  dataClusters: number;
  l1Offset: number;
  refcountTableOffset: number;
  refcountBlocksOffset: number;
  l2Offset: number;
  dataOffset: number;
  totalClusters: number;
  /** Exact length of the file in bytes. */
  length: number;
}

/** refcount_order 4: 16-bit refcounts (spec "Header", bytes 96-99). */
const REFCOUNT_BYTES = 2 ** DEFAULT_REFCOUNT_ORDER / 8;

export function checkClusterSize(clusterSize: number): number {
  const bits = Math.log2(clusterSize);
  if (!Number.isInteger(bits) || bits < MIN_CLUSTER_BITS || bits > MAX_CLUSTER_BITS) {
    throw new InvalidInputError('clusterSize', `must be a power of two from 512 to 2097152 bytes, got ${clusterSize}`);
  }
  return bits;
}

/** The L1 entries a disk of `size` bytes needs (spec "Cluster mapping"), refused past qemu's 32 MiB limit. */
export function checkL1Size(size: number, clusterSize: number, where: string): number {
  const l1Size = Math.ceil(Math.ceil(size / clusterSize) / (clusterSize / L2_ENTRY_SIZE));
  if (l1Size * L1_ENTRY_SIZE > MAX_L1_BYTES) {
    throw new InvalidInputError(where, `a ${size}-byte disk needs a QCOW2 L1 table over qemu's 32 MiB limit with ${clusterSize}-byte clusters; ` +
      'use larger clusters (up to 2 MiB), or a raw image');
  }
  return l1Size;
}

export function computeLayout(size: number, clusterSize: number, data: ClusterBitmap, where: string): Layout {
  const clusterBits = checkClusterSize(clusterSize);
  const guestClusters = Math.ceil(size / clusterSize);
  const l2Entries = clusterSize / L2_ENTRY_SIZE;
  const l1Size = checkL1Size(size, clusterSize, where);
  const l1Clusters = Math.ceil((l1Size * L1_ENTRY_SIZE) / clusterSize);
  let l2Tables = 0;
  for (let i = 0; i < l1Size; i++) {
    if (data.nextSet(i * l2Entries, Math.min((i + 1) * l2Entries, guestClusters)) >= 0) l2Tables++;
  }
  const dataClusters = data.count();

  // The refcount structures count themselves: grow them until they cover every cluster.
  const perBlock = clusterSize / REFCOUNT_BYTES;
  let blocks = 0;
  let tableClusters = 0;
  for (;;) {
    const total = 1 + l1Clusters + tableClusters + blocks + l2Tables + dataClusters;
    const needBlocks = Math.ceil(total / perBlock);
    const needTable = Math.ceil((needBlocks * 8) / clusterSize);
    if (needBlocks === blocks && needTable === tableClusters) break;
    blocks = needBlocks;
    tableClusters = needTable;
  }

  const l1Offset = clusterSize;
  const refcountTableOffset = l1Offset + l1Clusters * clusterSize;
  const refcountBlocksOffset = refcountTableOffset + tableClusters * clusterSize;
  const l2Offset = refcountBlocksOffset + blocks * clusterSize;
  const dataOffset = l2Offset + l2Tables * clusterSize;
  const totalClusters = 1 + l1Clusters + tableClusters + blocks + l2Tables + dataClusters;
  return {
    clusterSize,
    clusterBits,
    size,
    guestClusters,
    l2Entries,
    l1Size,
    l1Clusters,
    refcountTableClusters: tableClusters,
    refcountBlocks: blocks,
    l2Tables,
    dataClusters,
    // qemu writes 0 for an empty L1 table; so do we.
    l1Offset: l1Size === 0 ? 0 : l1Offset,
    refcountTableOffset,
    refcountBlocksOffset,
    l2Offset,
    dataOffset,
    totalClusters,
    length: totalClusters * clusterSize,
  };
}

/** The header cluster: a version 3 header (spec "Header"), no extensions, then zeros (end marker). */
export function encodeHeader(l: Layout): Uint8Array {
  const out = new Uint8Array(l.clusterSize);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, QCOW2_MAGIC);
  dv.setUint32(4, 3); // version
  // 8-19: no backing file
  dv.setUint32(20, l.clusterBits);
  setU64(dv, 24, l.size);
  // 32: crypt_method 0
  dv.setUint32(36, l.l1Size);
  setU64(dv, 40, l.l1Offset);
  setU64(dv, 48, l.refcountTableOffset);
  dv.setUint32(56, l.refcountTableClusters);
  // 60-71: no snapshots; 72-95: no incompatible, compatible or autoclear features
  dv.setUint32(96, DEFAULT_REFCOUNT_ORDER);
  dv.setUint32(100, V3_MIN_HEADER_LENGTH);
  // 104-111 stay zero: the end-of-extensions marker (spec "Header extensions", type 0).
  return out;
}

/** A big-endian 64-bit offset (< 2^53). */
export function setU64(dv: DataView, at: number, value: number, copied = false): void {
  const hi = Math.floor(value / 2 ** 32);
  dv.setUint32(at, (copied ? hi | HI_COPIED : hi) >>> 0);
  dv.setUint32(at + 4, value >>> 0);
}
