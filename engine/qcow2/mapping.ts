import { DamagedObjectError } from '../errors';
import {
  HI_COMPRESSED,
  HI_OFFSET_MASK,
  L1_ENTRY_SIZE,
  LO_OFFSET_MASK,
  LO_ZERO_FLAG,
  SECTOR_SIZE,
} from './constants';
import type { Geometry } from './geometry';
import type { L2Cache } from './l2-cache';

/** Where the bytes of one guest cluster come from. */
export type ClusterMapping =
  /** Unallocated, or reads as zeros: never read from the file. */
  | { kind: 'hole' }
  /** A whole standard cluster at `host` (cluster aligned). */
  | { kind: 'data'; host: number }
  /** Extended L2: subcluster i is at host + i * subcluster_size when bit i of `alloc` is set, else zeros. */
  | { kind: 'subclusters'; host: number; alloc: number }
  /** Compressed data: `length` bytes at `host` inflate to one cluster. */
  | { kind: 'compressed'; host: number; length: number };

export const HOLE: ClusterMapping = { kind: 'hole' };

const TWO_POW_32 = 2 ** 32;
const ALL_SUBCLUSTERS = 0xffffffff;

/** Bits 9-55 of an L1 or standard L2 entry (spec "Cluster mapping"). */
function hostOffset(hi: number, lo: number): number {
  return (hi & HI_OFFSET_MASK) * TWO_POW_32 + ((lo & LO_OFFSET_MASK) >>> 0);
}

/**
 * The two-level guest → host map (spec "Cluster mapping"): the active L1 table is held in memory
 * (bounded by MAX_L1_BYTES), L2 tables come through the LRU cache.
 */
export class ClusterMap {
  private readonly l1: DataView;
  private readonly l1End: number;

  constructor(
    private readonly g: Geometry,
    l1Table: Uint8Array,
    l1SizeInHeader: number,
    private readonly cache: L2Cache,
  ) {
    this.l1 = new DataView(l1Table.buffer, l1Table.byteOffset, l1Table.byteLength);
    const l1Bytes = l1SizeInHeader * L1_ENTRY_SIZE;
    this.l1End = g.l1Offset + Math.ceil(l1Bytes / g.clusterSize) * g.clusterSize;
  }

  /**
   * Check every L1 entry that maps the disk, once, at open: L2 tables are cluster aligned, one
   * cluster long, inside the file, not the header or the L1 table, and no two entries share one.
   * Sharing is what a hostile file would use to make a small file describe a huge allocated disk
   * (each table re-read for every entry); with distinct tables, walking the map costs at most one
   * pass over the file's own L2 tables.
   */
  validateL1(): void {
    const g = this.g;
    const offsets = new Float64Array(g.l1Entries);
    let n = 0;
    for (let i = 0; i < g.l1Entries; i++) {
      const offset = this.l1Offset(i);
      if (offset === 0) continue;
      if (offset % g.clusterSize !== 0) {
        throw new DamagedObjectError(g.location, `L1 entry ${i} points at ${offset}, which is not a cluster boundary`);
      }
      if (offset + g.clusterSize > g.fileSize) {
        throw new DamagedObjectError(g.location, `L1 entry ${i} points at ${offset}, past the end of the file (${g.fileSize} bytes)`);
      }
      if (offset < this.l1End && offset + g.clusterSize > g.l1Offset) {
        throw new DamagedObjectError(g.location, `L1 entry ${i} points at ${offset}, inside the L1 table itself`);
      }
      offsets[n++] = offset;
    }
    const used = offsets.subarray(0, n).sort();
    for (let i = 1; i < used.length; i++) {
      if (used[i] === used[i - 1]) {
        throw new DamagedObjectError(g.location, `two L1 entries point at the same L2 table (${used[i]})`);
      }
    }
  }

  private l1Offset(index: number): number {
    return hostOffset(this.l1.getUint32(index * L1_ENTRY_SIZE), this.l1.getUint32(index * L1_ENTRY_SIZE + 4));
  }

  /** The L2 table of L1 entry `index` (checked by validateL1), or null when the range is unallocated. */
  async l2Table(index: number): Promise<DataView | null> {
    const offset = this.l1Offset(index);
    return offset === 0 ? null : this.cache.get(offset);
  }

  /** Decode entry `index` of an L2 table (spec "Cluster mapping" and "Extended L2 Entries"). */
  entry(l2: DataView, index: number): ClusterMapping {
    const g = this.g;
    const at = index * g.l2EntryBytes;
    const hi = l2.getUint32(at);
    const lo = l2.getUint32(at + 4);
    const bitmapZero = g.extendedL2 ? l2.getUint32(at + 8) : 0;
    const bitmapAlloc = g.extendedL2 ? l2.getUint32(at + 12) : 0;

    if (hi & HI_COMPRESSED) {
      // Compressed clusters have no subclusters: their bitmap is reserved, zero.
      if (bitmapZero !== 0 || bitmapAlloc !== 0) this.damaged(index, 'a compressed cluster with a subcluster bitmap');
      return this.compressed(hi, lo, index);
    }
    const host = hostOffset(hi, lo);
    if (!g.extendedL2) {
      // Bit 0 of the standard descriptor: reads as zeros, whatever the offset says. "With version
      // 2, this is always 0": qemu refuses such an entry (qcow2-cluster.c, qcow2_get_host_offset:
      // "Zero cluster entry found in pre-v3 image") rather than guess, and so do we.
      if (lo & LO_ZERO_FLAG && g.version === 2) {
        this.damaged(index, 'a zero cluster in a version 2 image, where bit 0 must be 0 (qemu refuses it too: "Zero cluster entry found in pre-v3 image")');
      }
      if (lo & LO_ZERO_FLAG || host === 0) return HOLE;
      this.checkData(host, index);
      return { kind: 'data', host };
    }
    // Extended L2: bits 0-31 of the bitmap are "allocated", bits 32-63 "reads as zeros"; a
    // subcluster cannot be both, and nothing can be allocated without a host offset.
    if ((bitmapAlloc & bitmapZero) !== 0) this.damaged(index, 'a subcluster both allocated and zero');
    if (bitmapAlloc === 0) return HOLE;
    if (host === 0) this.damaged(index, 'allocated subclusters without a host offset');
    this.checkData(host, index);
    if (bitmapAlloc >>> 0 === ALL_SUBCLUSTERS) return { kind: 'data', host };
    return { kind: 'subclusters', host, alloc: bitmapAlloc >>> 0 };
  }

  private compressed(hi: number, lo: number, index: number): ClusterMapping {
    const g = this.g;
    const descriptor = (BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo >>> 0);
    const host = Number(descriptor & g.coffsetMask);
    const sectors = Number((descriptor >> g.csizeShift) & g.csizeMask) + 1;
    if (host < g.clusterSize || host >= g.fileSize) {
      this.damaged(index, `compressed data at ${host}, outside the data area of the file (${g.fileSize} bytes)`);
    }
    // The field counts the sectors after the one holding `host`; qemu reads them all and treats
    // what lies past the end of the file as zeros, so we clamp instead of failing.
    const length = Math.min(sectors * SECTOR_SIZE - (host % SECTOR_SIZE), g.fileSize - host);
    return { kind: 'compressed', host, length };
  }

  private checkData(host: number, index: number): void {
    if (host % this.g.clusterSize !== 0) this.damaged(index, `data at ${host}, which is not a cluster boundary`);
    if (host >= this.g.fileSize) this.damaged(index, `data at ${host}, past the end of the file (${this.g.fileSize} bytes)`);
  }

  private damaged(index: number, what: string): never {
    throw new DamagedObjectError(this.g.location, `L2 entry ${index} describes ${what}`);
  }

  /** The mapping of guest cluster `cluster` (loads its L2 table through the cache). */
  async lookup(cluster: number): Promise<ClusterMapping> {
    const l1Index = Math.floor(cluster / this.g.l2Entries);
    const l2 = await this.l2Table(l1Index);
    if (l2 === null) return HOLE;
    return this.entry(l2, cluster - l1Index * this.g.l2Entries);
  }
}
