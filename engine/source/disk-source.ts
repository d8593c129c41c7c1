/**
 * What a backup reads: a guest-visible disk of `size` bytes with ranged reads and, when the
 * container knows it, the list of allocated extents. Raw files, QCOW2 images (local or in a bucket)
 * and Scaleway exports all present themselves this way, so the backup pipeline knows one shape.
 */
/**
 * The largest guest disk the engine takes: offsets are JavaScript numbers, exact up to 2^53 - 1, and
 * a snapshot manifest records the size as such (FORMAT.md §8). Sources larger than this are refused
 * before anything is read.
 */
export const MAX_DISK_BYTES = Number.MAX_SAFE_INTEGER;

export interface Extent {
  offset: number;
  length: number;
}

/**
 * Why a source was read in its format (the manifest's `source.formatReason`, FORMAT.md §8): what the
 * caller said (`option`), the file's `.qcow2` name (`file-name`), raw by default (`default`), a
 * Scaleway snapshot export, QCOW2 by construction (`scaleway-export`), or a Scaleway volume attached
 * to this Instance, a raw block device by construction (`scaleway-attach`). Never the content alone:
 * docs/QCOW2.md "Which format a backup reads".
 */
export type FormatReason = 'option' | 'file-name' | 'default' | 'scaleway-export' | 'scaleway-attach';

export interface DiskSourceInfo {
  /** `raw` or `qcow2`: the container the guest disk came out of. */
  format: string;
  /** Why it was read as `format`, when whoever opened it knows. */
  formatReason?: FormatReason;
  /** Where it came from, for the snapshot manifest (a path, an URL, a Scaleway resource). */
  location: string;
}

export interface DiskSource {
  readonly info: DiskSourceInfo;
  /** Guest-visible size in bytes. */
  readonly size: number;
  /**
   * About how many bytes reading every extent takes, when the source can tell cheaply (a raw file's
   * data extents, a QCOW2 file's size): the total a progress bar and its ETA count against, which the
   * virtual size (holes included) is not. Undefined: unknown.
   */
  readonly expectedReadBytes?: number;
  /**
   * Allocated extents in ascending guest order, non-overlapping. Everything outside them reads as
   * zeros and is recorded as a hole without being read. A source that cannot tell yields one
   * extent covering the whole disk.
   */
  extents(): AsyncIterable<Extent>;
  /**
   * Fill `into` with the guest bytes at `offset` (into.length bytes; zeros where unallocated).
   * Reads never go past `size`.
   */
  read(offset: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
