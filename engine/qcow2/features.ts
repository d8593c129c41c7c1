import { DamagedObjectError, UnsupportedFeatureError } from '../errors';
import {
  COMPAT_LAZY_REFCOUNTS,
  COMPRESSION_ZLIB,
  COMPRESSION_ZSTD,
  CRYPT_NONE,
  INCOMPAT_COMPRESSION,
  INCOMPAT_CORRUPT,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTL2,
  KNOWN_INCOMPAT_MASK,
  MIN_CLUSTER_BITS_EXTENDED_L2,
} from './constants';
import type { HeaderExtensions } from './extensions';
import { hasBit, type Qcow2Header } from './header';

export type CompressionType = 'zlib' | 'zstd';

/** The features that change how we read, once the image has been accepted. */
export interface ReadFeatures {
  extendedL2: boolean;
  compression: CompressionType;
  lazyRefcounts: boolean;
}

/**
 * Decide whether we can read the active layer of this image on our own, and how.
 *
 * We refuse what would make the guest bytes depend on something outside this file or on a key
 * (encryption, backing file, external data file), what the spec says must not be opened (unknown
 * incompatible bits) and what qemu itself marks as untrustworthy (the corrupt bit). The dirty bit
 * only says refcounts may be stale (spec "Header", incompatible bit 0, and compatible bit 0 lazy
 * refcounts); we never read refcounts, so it does not stop us.
 */
export function checkFeatures(
  location: string,
  h: Qcow2Header,
  ext: HeaderExtensions,
  warn: (msg: string) => void,
): ReadFeatures {
  if (h.cryptMethod !== CRYPT_NONE || ext.hasEncryptionHeader) {
    const kind = h.cryptMethod === 1 ? 'AES' : h.cryptMethod === 2 ? 'LUKS' : `method ${h.cryptMethod}`;
    throw new UnsupportedFeatureError(
      location,
      'encryption',
      `the image is encrypted (${kind}); export it unencrypted (qemu-img convert -O qcow2 with the secret) before backing it up`,
    );
  }
  if (h.backingFileOffset !== 0 || ext.backingFormat !== undefined) {
    throw new UnsupportedFeatureError(
      location,
      'backing-file',
      'the image has a backing file, so its content is not all in this file; flatten it first (qemu-img convert -O qcow2)',
    );
  }
  if (hasBit(h.incompatibleFeatures, INCOMPAT_DATA_FILE) || ext.dataFile !== undefined) {
    const name = ext.dataFile !== undefined ? ` (${ext.dataFile})` : '';
    throw new UnsupportedFeatureError(
      location,
      'external-data-file',
      `the image keeps its data in an external data file${name}; convert it to a self-contained image first`,
    );
  }
  if (hasBit(h.incompatibleFeatures, INCOMPAT_CORRUPT)) {
    throw new UnsupportedFeatureError(
      location,
      'corrupt',
      'the image is marked corrupt (incompatible feature bit 1); repair it with qemu-img check -r all first',
    );
  }
  const unknown = h.incompatibleFeatures & ~KNOWN_INCOMPAT_MASK;
  if (unknown !== 0n) {
    let bit = 0;
    while (!hasBit(unknown, bit)) bit++;
    const name = ext.featureNames.get(`incompatible:${bit}`);
    throw new UnsupportedFeatureError(
      location,
      `incompatible-feature:${bit}`,
      `the image uses incompatible feature bit ${bit}${name ? ` ("${name}")` : ''}, which this reader does not know`,
    );
  }

  const extendedL2 = hasBit(h.incompatibleFeatures, INCOMPAT_EXTL2);
  if (extendedL2 && h.clusterBits < MIN_CLUSTER_BITS_EXTENDED_L2) {
    throw new DamagedObjectError(location, `extended L2 entries need clusters of at least 16 KiB (cluster_bits ${h.clusterBits})`);
  }

  // Spec "Additional fields", byte 104: the type is non-zero exactly when incompatible bit 3 is set.
  const typeBit = hasBit(h.incompatibleFeatures, INCOMPAT_COMPRESSION);
  if (typeBit !== (h.compressionType !== COMPRESSION_ZLIB)) {
    throw new DamagedObjectError(
      location,
      `compression_type ${h.compressionType} disagrees with incompatible feature bit 3 (${typeBit ? 'set' : 'clear'})`,
    );
  }
  let compression: CompressionType;
  if (h.compressionType === COMPRESSION_ZLIB) compression = 'zlib';
  else if (h.compressionType === COMPRESSION_ZSTD) compression = 'zstd';
  else {
    throw new UnsupportedFeatureError(
      location,
      `compression-type:${h.compressionType}`,
      `the image uses compression type ${h.compressionType}; only zlib (0) and zstd (1) are supported`,
    );
  }

  const lazyRefcounts = hasBit(h.compatibleFeatures, COMPAT_LAZY_REFCOUNTS);
  if (hasBit(h.incompatibleFeatures, INCOMPAT_DIRTY) && !lazyRefcounts) {
    // qemu only sets the dirty bit with lazy refcounts; either way the mapping tables are what we read.
    warn(`${location}: the dirty bit is set without lazy refcounts; refcounts are ignored, the mapping is read as is`);
  }
  if (h.nbSnapshots > 0) {
    warn(`${location}: the image has ${h.nbSnapshots} internal snapshot(s); only the active layer is read`);
  }
  return { extendedL2, compression, lazyRefcounts };
}
