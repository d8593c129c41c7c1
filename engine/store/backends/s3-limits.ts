/**
 * What an object store accepts in a multipart upload, and the part size an object of a given length
 * needs. Scaleway Object Storage (docs-content pages/object-storage/api-cli/multipart-uploads.mdx,
 * validated 2025-07-30): "1 to 1000 parts per object, 5 MB to 5 GB per part (except for the last
 * one), each object stores up to 5 TB". AWS allows 10 000 parts of 5 MiB-5 GiB; Scaleway's limits
 * work on both, so they are the default everywhere.
 */
import { BackupError } from '../../errors';

const MiB = 1024 * 1024;

export interface MultipartLimits {
  /** Parts per upload (part numbers 1..maxParts). */
  maxParts: number;
  /** Every part but the last is at least this long. */
  minPartSize: number;
  maxPartSize: number;
  /** Largest object a multipart upload may build. */
  maxObjectSize: number;
}

/**
 * The docs' "5 MB" minimum is read as 5 MiB (AWS's unit, and the larger of the two readings) and
 * "5 GB"/"5 TB" as 5·10^9 and 5·10^12 bytes (Scaleway counts storage in powers of ten, and those are
 * the smaller readings): within either reading of the page.
 */
export const SCALEWAY_MULTIPART: Readonly<MultipartLimits> = Object.freeze({
  maxParts: 1000,
  minPartSize: 5 * MiB,
  maxPartSize: 5_000_000_000,
  maxObjectSize: 5_000_000_000_000,
});

/** Parts are this long unless the object needs longer ones to fit in maxParts. */
export const DEFAULT_PART_SIZE = 16 * MiB;

/** An object too large for one multipart upload under these limits. */
export class ObjectTooLargeError extends BackupError {
  constructor(what: string, length: number, limits: MultipartLimits) {
    const max = Math.min(limits.maxObjectSize, limits.maxParts * limits.maxPartSize);
    super('S3_OBJECT_TOO_LARGE', `${what} is ${length} bytes: Object Storage takes at most ${max} bytes in one object ` +
      `(${limits.maxParts} parts of at most ${limits.maxPartSize} bytes); it cannot go through a bucket`);
  }
}

/**
 * The part size for an object of `length` bytes: `preferred` (at least the minimum) unless the
 * object needs larger parts to fit in maxParts, rounded up to a whole MiB when that still fits.
 */
export function partSizeFor(length: number, limits: MultipartLimits = SCALEWAY_MULTIPART, preferred = DEFAULT_PART_SIZE, what = 'the object'): number {
  if (length > limits.maxObjectSize) throw new ObjectTooLargeError(what, length, limits);
  const needed = Math.ceil(length / limits.maxParts);
  if (needed > limits.maxPartSize) throw new ObjectTooLargeError(what, length, limits);
  const size = Math.max(limits.minPartSize, preferred, Math.ceil(needed / MiB) * MiB);
  return size <= limits.maxPartSize ? size : Math.max(limits.minPartSize, needed);
}
