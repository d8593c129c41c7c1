/** Blob types (FORMAT.md §5). */
export const BLOB_DATA = 0;
export const BLOB_MAP = 1;
export type BlobType = typeof BLOB_DATA | typeof BLOB_MAP;

export function isBlobType(t: number): t is BlobType {
  return t === BLOB_DATA || t === BLOB_MAP;
}

/** Where a blob lives inside a pack. */
export interface BlobEntry {
  type: BlobType;
  id: Uint8Array;
  offset: number;
  /** Sealed (stored) length. */
  length: number;
  /** Plaintext length after decompression. */
  rawLength: number;
}
