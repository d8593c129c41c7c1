import { DamagedObjectError, InvalidInputError, UnsupportedFeatureError } from '../errors';
import { MAX_DISK_BYTES } from '../source/disk-source';
import {
  COMPRESSION_TYPE_OFFSET,
  DEFAULT_REFCOUNT_ORDER,
  MAX_CLUSTER_BITS,
  MAX_REFCOUNT_ORDER,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  V2_HEADER_LENGTH,
  V3_MIN_HEADER_LENGTH,
} from './constants';

/** The fixed part of a QCOW2 header (spec "Header"), with version 2 defaults filled in. */
export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  clusterSize: number;
  /** size as the header says (bytes 24-31), at most MAX_DISK_BYTES: we refuse larger. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  /** 0 (zlib) when the field is absent (spec "Additional fields", rule 3). */
  compressionType: number;
}

/** How many bytes of the file parseHeader() wants to see (all fixed fields we know of). */
export const HEADER_PROBE_BYTES = COMPRESSION_TYPE_OFFSET + 8;

const MAX_SIZE = BigInt(MAX_DISK_BYTES);

/** True when `head` starts with the QCOW2 magic (spec "Header", bytes 0-3). */
export function isQcow2(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  return new DataView(head.buffer, head.byteOffset, 4).getUint32(0) === QCOW2_MAGIC;
}

/**
 * Parse the fixed header from the first bytes of the file (`head`, up to HEADER_PROBE_BYTES).
 * Checks only what the header says about itself; features and table placement are checked by the
 * caller once the header extensions are known.
 */
export function parseHeader(location: string, head: Uint8Array, fileSize: number): Qcow2Header {
  if (!isQcow2(head)) {
    throw new InvalidInputError(location, 'not a QCOW2 image (the file does not start with the magic "QFI\\xfb")');
  }
  if (head.length < V2_HEADER_LENGTH) {
    throw new DamagedObjectError(location, `the file is ${fileSize} bytes, shorter than a QCOW2 header (${V2_HEADER_LENGTH} bytes)`);
  }
  const dv = new DataView(head.buffer, head.byteOffset, head.length);
  const version = dv.getUint32(4);
  if (version !== 2 && version !== 3) {
    throw new UnsupportedFeatureError(location, `version:${version}`, `QCOW2 version ${version} is not supported (only 2 and 3 are)`);
  }
  const clusterBits = dv.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new DamagedObjectError(
      location,
      `cluster_bits is ${clusterBits}; it must be between ${MIN_CLUSTER_BITS} and ${MAX_CLUSTER_BITS} (512 B to 2 MiB clusters)`,
    );
  }
  const clusterSize = 2 ** clusterBits;
  const sizeBig = dv.getBigUint64(24);
  if (sizeBig > MAX_SIZE) {
    throw new InvalidInputError(
      location,
      `virtual size ${sizeBig} bytes is more than ${MAX_DISK_BYTES} (2^53 - 1), the largest disk a snapshot can record`,
    );
  }

  let incompatibleFeatures = 0n;
  let compatibleFeatures = 0n;
  let autoclearFeatures = 0n;
  let refcountOrder = DEFAULT_REFCOUNT_ORDER;
  let headerLength = V2_HEADER_LENGTH;
  let compressionType = 0;
  if (version === 3) {
    if (head.length < V3_MIN_HEADER_LENGTH) {
      throw new DamagedObjectError(location, `the file is ${fileSize} bytes, shorter than a version 3 header (${V3_MIN_HEADER_LENGTH} bytes)`);
    }
    incompatibleFeatures = dv.getBigUint64(72);
    compatibleFeatures = dv.getBigUint64(80);
    autoclearFeatures = dv.getBigUint64(88);
    refcountOrder = dv.getUint32(96);
    headerLength = dv.getUint32(100);
    // Spec "Header", bytes 100-103: at least 104 and a multiple of 8; it lives in the first cluster.
    if (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 !== 0 || headerLength > clusterSize) {
      throw new DamagedObjectError(location, `header_length ${headerLength} is invalid (at least 104, a multiple of 8, within the first cluster)`);
    }
    if (headerLength > COMPRESSION_TYPE_OFFSET) {
      if (head.length <= COMPRESSION_TYPE_OFFSET) {
        throw new DamagedObjectError(location, `the file ends inside the header (header_length ${headerLength}, file ${fileSize} bytes)`);
      }
      compressionType = dv.getUint8(COMPRESSION_TYPE_OFFSET);
    }
  }
  if (refcountOrder > MAX_REFCOUNT_ORDER) {
    throw new DamagedObjectError(location, `refcount_order is ${refcountOrder}; it may not exceed ${MAX_REFCOUNT_ORDER}`);
  }

  return {
    version,
    backingFileOffset: u64(dv, 8),
    backingFileSize: dv.getUint32(16),
    clusterBits,
    clusterSize,
    size: Number(sizeBig),
    cryptMethod: dv.getUint32(32),
    l1Size: dv.getUint32(36),
    l1TableOffset: u64(dv, 40),
    refcountTableOffset: u64(dv, 48),
    refcountTableClusters: dv.getUint32(56),
    nbSnapshots: dv.getUint32(60),
    snapshotsOffset: u64(dv, 64),
    incompatibleFeatures,
    compatibleFeatures,
    autoclearFeatures,
    refcountOrder,
    headerLength,
    compressionType,
  };
}

/**
 * A 64-bit offset as a number. Values above 2^53 lose precision, which is harmless: they lie past
 * the end of any file we can read and are refused by the range checks.
 */
function u64(dv: DataView, at: number): number {
  return Number(dv.getBigUint64(at));
}

/** True when `bit` is set in a 64-bit feature bitmap. */
export function hasBit(features: bigint, bit: number): boolean {
  return ((features >> BigInt(bit)) & 1n) === 1n;
}
