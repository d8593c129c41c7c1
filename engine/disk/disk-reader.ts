/**
 * What the partition and file system readers need of a disk: its size and positioned reads. A
 * stored snapshot (SnapshotReader) is one; so is any image file in tests.
 */
export interface DiskReader {
  readonly size: number;
  /** Fill `into` with the bytes at `offset` (the range lies inside the disk). */
  read(offset: number, into: Uint8Array): Promise<void>;
}

/** `length` bytes at `offset`, cut short at the end of the disk (zero bytes past it). */
export async function readAt(disk: DiskReader, offset: number, length: number): Promise<Buffer> {
  const n = Math.max(0, Math.min(length, disk.size - offset));
  const out = Buffer.alloc(n);
  if (n > 0) await disk.read(offset, out);
  return out;
}
