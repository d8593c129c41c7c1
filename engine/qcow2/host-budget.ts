import { DamagedObjectError } from '../errors';
import { SECTOR_SIZE } from './constants';
import type { CompressionType } from './features';
import type { Geometry } from './geometry';
import type { ClusterMapping } from './mapping';

/**
 * The most guest bytes one byte of a compressed stream can stand for, so that no compressed cluster
 * can be smaller than cluster_size / ratio: deflate codes a 258-byte match in 2 bits at best
 * (RFC 1951 §3.2.5, 1032:1); zstd regenerates at most one 128 KiB block from a 4-byte RLE block
 * (RFC 8878 §3.1.1.2, 32768:1).
 */
const MAX_RATIO: Record<CompressionType, number> = { zlib: 1032, zstd: 32768 };

/**
 * A running total of the file bytes the active L1/L2 tables map into the guest disk, checked
 * against the file's size as the walk goes (docs/QCOW2.md, "Hostile input").
 *
 * qemu gives every guest cluster it writes a host cluster of its own (a shared one is copied
 * first: QCOW_OFLAG_COPIED, spec "Cluster mapping"), and packs compressed clusters byte after byte,
 * so in an image it wrote no two active entries map the same bytes (internal snapshots share
 * clusters with the active table, but each through its own L1 table) and the total stays within the
 * file. A file whose entries all point at one cluster describes a disk far larger than itself, and
 * would make a backup read all of it; qemu-img check reports it ("refcount=1 reference=N"). We
 * refuse it once the total passes the file size, so the walk has read at most about the file.
 *
 * Counted per entry: a standard cluster, its cluster size; extended L2, its allocated subclusters;
 * a compressed cluster, the bytes it must own: its sector range less the 511 bytes of its last
 * sector that the next compressed cluster may share (spec "Compressed Clusters Descriptor"), and
 * at least cluster_size / MAX_RATIO.
 */
export class HostBudget {
  private total = 0;
  private readonly compressedFloor: number;

  constructor(private readonly g: Geometry) {
    this.compressedFloor = Math.ceil(g.clusterSize / MAX_RATIO[g.compression]);
  }

  /** Count the entry that maps guest cluster `cluster`; throws once the total passes the file size. */
  add(m: ClusterMapping, cluster: number): void {
    this.total += this.bytesOf(m);
    if (this.total > this.g.fileSize) {
      throw new DamagedObjectError(
        this.g.location,
        `by guest offset ${cluster * this.g.clusterSize} the L2 tables map ${this.total} bytes of the file, more than it holds ` +
          `(${this.g.fileSize}): they point at the same data more than once, which qemu never writes (qemu-img check reports it)`,
      );
    }
  }

  private bytesOf(m: ClusterMapping): number {
    switch (m.kind) {
      case 'hole':
        return 0;
      case 'data':
        return this.g.clusterSize;
      case 'subclusters':
        return popcount(m.alloc) * this.g.subclusterSize;
      case 'compressed':
        return Math.max(m.length - (SECTOR_SIZE - 1), this.compressedFloor);
    }
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let i = 0; i < 32; i++) n += (x >>> i) & 1;
  return n;
}
