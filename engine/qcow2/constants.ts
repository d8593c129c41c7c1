/**
 * QCOW2 format constants. Section names refer to qemu's docs/interop/qcow2.txt ("the spec").
 * All numbers in the format are big-endian (spec "General").
 */

/** "QFI\xfb" (spec "Header", bytes 0-3). */
export const QCOW2_MAGIC = 0x514649fb;

/** Version 2 header is exactly 72 bytes; version 3 is at least 104 (spec "Header"). */
export const V2_HEADER_LENGTH = 72;
export const V3_MIN_HEADER_LENGTH = 104;
/** compression_type is the one byte at offset 104 (spec "Additional fields"). */
export const COMPRESSION_TYPE_OFFSET = 104;

/**
 * cluster_bits must not be less than 9; qemu refuses more than 21 (2 MiB) (spec "Header", bytes 20-23).
 * Extended L2 entries need cluster_bits >= 14 (same paragraph).
 */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const MIN_CLUSTER_BITS_EXTENDED_L2 = 14;

/** refcount_order may not exceed 6; version 2 images are always 4 (spec "Header", bytes 96-99). */
export const MAX_REFCOUNT_ORDER = 6;
export const DEFAULT_REFCOUNT_ORDER = 4;

/** crypt_method: 0 none, 1 AES, 2 LUKS (spec "Header", bytes 32-35). */
export const CRYPT_NONE = 0;

/** incompatible_features bits (spec "Header", bytes 72-79). */
export const INCOMPAT_DIRTY = 0;
export const INCOMPAT_CORRUPT = 1;
export const INCOMPAT_DATA_FILE = 2;
export const INCOMPAT_COMPRESSION = 3;
export const INCOMPAT_EXTL2 = 4;
/** Every bit above 4 is reserved, so an image setting one must not be opened. */
export const KNOWN_INCOMPAT_MASK = 0b11111n;

/** compatible_features bit 0: lazy refcounts (spec "Header", bytes 80-87). */
export const COMPAT_LAZY_REFCOUNTS = 0;

/** compression_type values (spec "Additional fields", byte 104). */
export const COMPRESSION_ZLIB = 0;
export const COMPRESSION_ZSTD = 1;

/** Header extension types (spec "Header extensions"). */
export const EXT_END = 0x00000000;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;
export const EXT_FDE = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;

/** Feature name table entries are 48 bytes: type, bit, 46-byte name (spec "Feature name table"). */
export const FEATURE_NAME_ENTRY = 48;
export const FEATURE_NAME_LENGTH = 46;

/**
 * qemu's implementation limit on the active L1 table: 32 MiB (spec "Header", bytes 24-31 note).
 * We refuse anything larger: it bounds what a hostile header can make us allocate.
 */
export const MAX_L1_BYTES = 32 * 1024 * 1024;

/** L1/L2 entries are 8 bytes; extended L2 entries are 16 (spec "Cluster mapping", "Extended L2 Entries"). */
export const L1_ENTRY_SIZE = 8;
export const L2_ENTRY_SIZE = 8;
export const EXTENDED_L2_ENTRY_SIZE = 16;

/** Extended L2: 32 subclusters per standard cluster (spec "Extended L2 Entries"). */
export const SUBCLUSTERS = 32;

/**
 * Bit masks of the high 32 bits of an L1/L2 entry (spec "Cluster mapping"):
 * bit 63 "refcount is exactly one" (QCOW_OFLAG_COPIED), bit 62 compressed (L2 only),
 * bits 9-55 the host offset (so the low 24 bits of the high word, and ~0x1ff of the low word).
 */
export const HI_COPIED = 0x80000000;
export const HI_COMPRESSED = 0x40000000;
export const HI_OFFSET_MASK = 0x00ffffff;
export const LO_OFFSET_MASK = 0xfffffe00;
/** Standard cluster descriptor bit 0: reads as zeros (spec "Standard Cluster Descriptor"). */
export const LO_ZERO_FLAG = 0x1;

/**
 * Compressed clusters count their length in 512-byte sectors (spec "Compressed Clusters
 * Descriptor"); qemu counts the virtual size in the same sectors (BDRV_SECTOR_SIZE).
 */
export const SECTOR_SIZE = 512;

