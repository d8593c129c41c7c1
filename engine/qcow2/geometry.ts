import { DamagedObjectError } from '../errors';
import { EXTENDED_L2_ENTRY_SIZE, L1_ENTRY_SIZE, L2_ENTRY_SIZE, MAX_L1_BYTES, SECTOR_SIZE, SUBCLUSTERS } from './constants';
import type { CompressionType, ReadFeatures } from './features';
import type { Qcow2Header } from './header';

/** Everything the mapping code needs to turn a guest offset into a host location. */
export interface Geometry {
  location: string;
  fileSize: number;
  /** The guest disk's size: the header's, less a partial last sector, as qemu reads it. */
  size: number;
  version: 2 | 3;
  compression: CompressionType;
  clusterBits: number;
  clusterSize: number;
  extendedL2: boolean;
  /** Bytes per L2 entry: 8, or 16 with extended L2 entries (spec "Extended L2 Entries"). */
  l2EntryBytes: number;
  /** Entries per L2 table: cluster_size / l2EntryBytes (spec "Cluster mapping"). */
  l2Entries: number;
  subclusterSize: number;
  /** L1 entries that map the virtual disk; later ones (VM state of snapshots) are never read. */
  l1Entries: number;
  l1Offset: number;
  /** Compressed descriptor split: x = 62 - (cluster_bits - 8) (spec "Compressed Clusters Descriptor"). */
  csizeShift: bigint;
  coffsetMask: bigint;
  csizeMask: bigint;
}

/** Check where the active L1 table is and derive the mapping constants from the header. */
export function computeGeometry(location: string, h: Qcow2Header, f: ReadFeatures, fileSize: number): Geometry {
  const clusterSize = h.clusterSize;
  const l2EntryBytes = f.extendedL2 ? EXTENDED_L2_ENTRY_SIZE : L2_ENTRY_SIZE;
  const l2Entries = clusterSize / l2EntryBytes;
  // qemu counts the disk in whole 512-byte sectors and drops a partial last one (qcow2.c,
  // qcow2_do_open: total_sectors = header.size / BDRV_SECTOR_SIZE): a size of 1000 opens as 512.
  // The L1 table must still cover the header's size, as qemu checks (same function).
  const size = Math.floor(h.size / SECTOR_SIZE) * SECTOR_SIZE;
  const l1Entries = Math.ceil(h.size / (clusterSize * l2Entries));

  if (h.l1Size < l1Entries) {
    throw new DamagedObjectError(location, `l1_size ${h.l1Size} is too small for a ${h.size}-byte disk (needs ${l1Entries})`);
  }
  if (h.l1Size * L1_ENTRY_SIZE > MAX_L1_BYTES) {
    throw new DamagedObjectError(location, `l1_size ${h.l1Size} is larger than qemu's 32 MiB L1 table limit`);
  }
  if (l1Entries > 0) {
    // Spec "Header", bytes 40-47: cluster-aligned. The first cluster is the header, never a table.
    if (h.l1TableOffset % clusterSize !== 0 || h.l1TableOffset < clusterSize) {
      throw new DamagedObjectError(location, `l1_table_offset ${h.l1TableOffset} is not a cluster boundary after the header`);
    }
    if (h.l1TableOffset + l1Entries * L1_ENTRY_SIZE > fileSize) {
      throw new DamagedObjectError(
        location,
        `the L1 table (${l1Entries} entries at ${h.l1TableOffset}) runs past the end of the file (${fileSize} bytes)`,
      );
    }
  }

  const csizeBits = h.clusterBits - 8;
  const csizeShift = 62 - csizeBits;
  return {
    location,
    fileSize,
    size,
    version: h.version,
    compression: f.compression,
    clusterBits: h.clusterBits,
    clusterSize,
    extendedL2: f.extendedL2,
    l2EntryBytes,
    l2Entries,
    subclusterSize: f.extendedL2 ? clusterSize / SUBCLUSTERS : clusterSize,
    l1Entries,
    l1Offset: h.l1TableOffset,
    csizeShift: BigInt(csizeShift),
    coffsetMask: (1n << BigInt(csizeShift)) - 1n,
    csizeMask: (1n << BigInt(csizeBits)) - 1n,
  };
}
