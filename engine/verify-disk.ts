/**
 * Compare a disk with a stored snapshot, every byte: each data chunk by its keyed hash against the
 * snapshot's disk map, each hole against zeros. The proof a restore drill gives (drill.ts), for a
 * restored file as for a restored Scaleway volume read through its export (scaleway/verify-volume.ts).
 */
import { chunkId } from './crypto/chunk-id';
import type { DiskSource } from './source/disk-source';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import type { Snapshot } from './store/snapshot';
import { readDiskMap } from './store/snapshots';

export interface DiskComparison {
  /** Guest bytes compared: the snapshot's whole disk. */
  bytesCompared: number;
  chunks: number;
  /** Ranges whose bytes differ (at most 100 listed). */
  mismatches: Array<{ offset: number; length: number }>;
}

const MAX_READ = 4 * 1024 * 1024;
const MAX_LISTED = 100;

/** Compare a disk with a snapshot: chunk by chunk by keyed hash, holes against zeros. */
export function compareWithSnapshot(repo: Repository, snapshot: Snapshot, disk: DiskSource, options: { signal?: AbortSignal } = {}): Promise<DiskComparison> {
  // Reads the snapshot's map pages from the store: under a reader's lock, like a restore, and stops
  // at the next page when that lock lapsed or the caller asked to stop.
  return withLock(repo, { operation: 'verify', snapshot, signal: options.signal }, (lock) => compareLocked(repo, snapshot, disk, () => {
    options.signal?.throwIfAborted();
    lock?.assertFresh();
  }));
}

async function compareLocked(repo: Repository, snapshot: Snapshot, disk: DiskSource, guard: () => void): Promise<DiskComparison> {
  await repo.loadIndex();
  const mismatches: DiskComparison['mismatches'] = [];
  let chunks = 0;
  const note = (offset: number, length: number) => {
    const last = mismatches[mismatches.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else if (mismatches.length < MAX_LISTED) mismatches.push({ offset, length });
  };
  if (disk.size < snapshot.size) note(disk.size, snapshot.size - disk.size);
  const buf = Buffer.allocUnsafe(MAX_READ);
  for await (const page of readDiskMap(repo, snapshot)) {
    guard();
    for (const e of page) {
      const end = Math.min(e.offset + e.length, disk.size);
      if (e.id) {
        if (end - e.offset !== e.length) continue; // past the disk: noted above
        const data = e.length <= MAX_READ ? buf.subarray(0, e.length) : Buffer.allocUnsafe(e.length);
        await disk.read(e.offset, data);
        chunks++;
        if (!chunkId(repo.keys.chunkId, data).equals(e.id)) note(e.offset, e.length);
        continue;
      }
      for (let at = e.offset; at < end; at += MAX_READ) {
        const view = buf.subarray(0, Math.min(MAX_READ, end - at));
        await disk.read(at, view);
        // Zero blocks of 64 KiB from the hole's start: a difference is located to its block.
        for (let p = 0; p < view.length; p += ZEROS.length) {
          const n = Math.min(ZEROS.length, view.length - p);
          if (view.compare(ZEROS, 0, n, p, p + n) !== 0) note(at + p, n);
        }
      }
    }
  }
  return { bytesCompared: snapshot.size, chunks, mismatches };
}

const ZEROS = Buffer.alloc(64 * 1024);
