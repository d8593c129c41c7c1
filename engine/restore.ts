import { idToHex } from './crypto/chunk-id';
import { openDirect, writeTargetFile } from './target-file';
import { DamagedObjectError } from './errors';
import { ProgressReporter, type ProgressCallback } from './progress';
import type { BlobEntry } from './store/blob';
import { MAX_RANGE, fetchPackRanges } from './store/blob-reader';
import { alignedShared } from './pipeline/aligned-memory';
import { WorkerPool } from './pipeline/worker-pool';
import type { RestoreBlob } from './pipeline/chunk-ops';
import type { RestoreTarget } from './pipeline/target-writer';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import type { MapExtent } from './store/disk-map';
import type { Snapshot } from './store/snapshot';
import { readDiskMap } from './store/snapshots';

export interface RestoreOptions {
  /** Replace an existing target file. */
  overwrite?: boolean;
  onProgress?: ProgressCallback;
  /** Packs fetched at once. */
  concurrency?: number;
  /** Worker threads verifying and writing chunks (default: one per core; 0 = inline). */
  workers?: number;
  /** Read without locking the store (a read-only store; see lock-scope.ts). */
  noLock?: boolean;
  /** Things worth telling that do not stop the restore (a stale lock ignored). */
  onWarning?: (message: string) => void;
  /** Stop at the next map page (Ctrl-C): the partial file is removed, the lock released. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  target: string;
  size: number;
  bytesWritten: number;
  bytesFetched: number;
  holeBytes: number;
  durationMs: number;
}

/** What one pack must provide for the current map page: each blob and every file offset it goes to. */
interface PackWork {
  blobs: BlobEntry[];
  offsets: Map<string, number[]>;
}

/** How the restored guest bytes land in the target file (a raw disk, or a QCOW2 image: restore-qcow2.ts). */
export interface FileLayout {
  /** Length of the file. */
  size: number;
  /** File offset of a data chunk at guest `offset` (its bytes stay contiguous); default: the same offset. */
  place?: (offset: number) => number;
  /** What the file holds besides chunk data (QCOW2 metadata), written from its start. */
  prefix?: Iterable<Uint8Array>;
}

/**
 * Restore a snapshot to a raw file. Pack-driven: for each page of the disk map, the chunks are
 * grouped by pack, each pack is read once (neighbouring blobs in one ranged read), several packs at
 * a time; worker threads decrypt, decompress and verify each chunk and write it at all its offsets
 * with positional writes, out of order. Holes are never written, so
 * the file stays sparse. The file is built under a temporary name and renamed into place only when
 * complete, so a failed restore never leaves a half-written target.
 */
export function restoreImage(repo: Repository, snapshot: Snapshot, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return restoreToFile(repo, snapshot, target, options, () => ({ size: snapshot.size }));
}

/** The restore of restoreImage into the file `layout` describes (asked for once the index is loaded). */
export async function restoreToFile(
  repo: Repository, snapshot: Snapshot, target: string, options: RestoreOptions, layoutFor: () => FileLayout | Promise<FileLayout>,
): Promise<RestoreResult> {
  // Workers boot (a thread, modules, keys) while the index is read.
  const pool = new WorkerPool(repo.keys, { workers: options.workers });
  const progress = new ProgressReporter(options.onProgress);
  const concurrency = options.concurrency ?? 4;
  const result = { target, size: snapshot.size, bytesWritten: 0, bytesFetched: 0, holeBytes: 0, durationMs: 0 };
  try {
    await withLock(repo, { operation: 'restore', reader: true, noLock: options.noLock, snapshot, warn: options.onWarning, signal: options.signal }, async (lock) => {
      await repo.loadIndex();
      const layout = await layoutFor();
      await writeTargetFile(target, !!options.overwrite, layout.size, async (handle, path) => {
        for (const piece of layout.prefix ?? []) {
          await handle.write(piece, 0, piece.length, result.bytesWritten);
          result.bytesWritten += piece.length;
        }
        const direct = await openDirect(path);
        try {
          // A reader whose lock lapsed stops (a prune may be removing what it reads); so does one asked to.
          const guard = (): void => {
            options.signal?.throwIfAborted();
            lock?.assertFresh();
          };
          await restoreChunks(repo, snapshot, pool, { fd: handle.fd, directFd: direct?.fd }, layout.place, concurrency, result, progress, guard);
        } finally {
          // After the drain: no direct write can still be in flight.
          await direct?.close();
        }
      });
    });
  } finally {
    await pool.close();
  }
  result.durationMs = progress.elapsedMs;
  progress.report({ phase: 'done', bytesDone: snapshot.size, bytesTotal: snapshot.size, bytesNew: result.bytesFetched, bytesStored: 0 }, true);
  return result;
}

/**
 * The pack-driven middle of a restore: pack work from the disk map, fetched by `concurrency`
 * fetchers, opened and written by the pool's workers; returns once every chunk is written (drained).
 */
async function restoreChunks(
  repo: Repository, snapshot: Snapshot, pool: WorkerPool, out: RestoreTarget, place: FileLayout['place'], concurrency: number,
  result: RestoreResult, progress: ProgressReporter, guard: () => void,
): Promise<void> {
  // One queue of pack work across all map pages: the next page is grouped as soon as the
  // queue runs dry, so the workers never wait for a page's last pack before the next starts.
  const pages = readDiskMap(repo, snapshot)[Symbol.asyncIterator]();
  const queue: Array<[number, PackWork]> = [];
  let pagesDone = false;
  let failed = false;
  let refill: Promise<void> | undefined;
  const nextWork = async (): Promise<[number, PackWork] | undefined> => {
    while (queue.length === 0 && !pagesDone && !failed) {
      guard();
      refill ??= pages.next().then(async (r) => {
        if (r.done) {
          pagesDone = true;
          return;
        }
        // Where the page's chunks are: from large index tables, only these (FORMAT.md §7.1).
        await repo.ensureIndexed(r.value.flatMap((e) => (e.id ? [e.id] : [])));
        queue.push(...groupByPack(repo, snapshot, r.value, result, place).entries());
      }).finally(() => {
        refill = undefined;
      });
      await refill;
    }
    return failed ? undefined : queue.shift();
  };
  // Each fetcher reads its ranges into one page-aligned buffer of its own (aligned-memory.ts),
  // shared with the worker that opens them: no fresh memory per range, and faster reads.
  const slots = alignedShared(concurrency * MAX_RANGE);
  const fetcher = async (slot: Uint8Array) => {
    for (let item = await nextWork(); item; item = await nextWork()) {
      const [pack, w] = item;
      const packId = repo.index.packId(pack);
      for await (const range of fetchPackRanges(repo, packId, w.blobs, slot)) {
        result.bytesFetched += range.bytes.length;
        const blobs: RestoreBlob[] = range.blobs.map((b) => ({
          type: b.type, id: b.id, packOffset: b.offset, start: b.offset - range.start, length: b.length, rawLength: b.rawLength,
          targets: w.offsets.get(idToHex(b.id)) ?? [],
        }));
        const written = await pool.restore(out, packId, range.bytes, blobs).catch((err: unknown) => {
          if (err instanceof DamagedObjectError) {
            throw new DamagedObjectError(err.object, `${err.detail}; restore of snapshot ${snapshot.id.slice(0, 12)} stopped, the target was not written`, { cause: err });
          }
          throw err;
        });
        // Added after the await: `x += await y` would read x before waiting and lose other fetchers' counts.
        result.bytesWritten += written;
        progress.report({ phase: 'restore', bytesDone: result.bytesWritten + result.holeBytes, bytesTotal: snapshot.size, bytesNew: result.bytesFetched, bytesStored: 0 });
      }
    }
  };
  // Wait for every fetcher even when one fails: workers write through these file descriptors,
  // which must stay open until none of them can still be writing.
  const outcomes = await Promise.allSettled(Array.from({ length: concurrency }, (_, i) => fetcher(new Uint8Array(slots, i * MAX_RANGE, MAX_RANGE)).catch((err: unknown) => {
    failed = true; // the others stop taking packs
    throw err;
  })));
  // Direct writes may still be in flight after their requests answered.
  const drained = pool.drain();
  await drained.catch(() => {
    // Only waited for here; a write error is thrown below, unless a fetcher's failure came first.
  });
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;
  await drained;
}

/** The page's data chunks grouped by the pack that holds them, each with every offset it fills. */
function groupByPack(repo: Repository, snapshot: Snapshot, page: MapExtent[], result: { holeBytes: number }, place = (offset: number) => offset): Map<number, PackWork> {
  const work = new Map<number, PackWork>();
  for (const e of page) {
    if (!e.id) {
      result.holeBytes += e.length;
      continue;
    }
    const n = repo.index.find(e.id);
    const hex = idToHex(e.id);
    if (n < 0) {
      throw new DamagedObjectError(`snapshot ${snapshot.id.slice(0, 12)}`, `chunk ${hex} for guest bytes ${e.offset}..${e.offset + e.length} is not in any index (its pack is missing or unindexed); run "scw-backup check"`);
    }
    const { blob } = repo.index.entry(n);
    if (blob.rawLength !== e.length) {
      throw new DamagedObjectError(`snapshot ${snapshot.id.slice(0, 12)}`, `chunk ${hex} is ${blob.rawLength} bytes but the map says ${e.length} at ${e.offset}`);
    }
    const pack = repo.index.packOf(n);
    let w = work.get(pack);
    if (!w) work.set(pack, (w = { blobs: [], offsets: new Map() }));
    const list = w.offsets.get(hex);
    if (list) list.push(place(e.offset));
    else {
      w.offsets.set(hex, [place(e.offset)]);
      w.blobs.push({ ...blob, id: Buffer.from(blob.id) });
    }
  }
  return work;
}
