import { idToHex } from './crypto/chunk-id';
import { writeTargetFile } from './target-file';
import { DamagedObjectError } from './errors';
import { ProgressReporter, type ProgressCallback } from './progress';
import type { BlobEntry } from './store/blob';
import { readPackBlobs } from './store/blob-reader';
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
}

export interface RestoreResult {
  target: string;
  size: number;
  bytesWritten: number;
  bytesFetched: number;
  holeBytes: number;
  durationMs: number;
}

/** What one pack must provide for the current map page: each blob and every guest offset it goes to. */
interface PackWork {
  blobs: BlobEntry[];
  offsets: Map<string, number[]>;
}

/**
 * Restore a snapshot to a raw file. Pack-driven: for each page of the disk map, the chunks are
 * grouped by pack, each pack is read once (neighbouring blobs in one ranged read), several packs at
 * a time, and every chunk is written at all its offsets, out of order. Holes are never written, so
 * the file stays sparse. The file is built under a temporary name and renamed into place only when
 * complete, so a failed restore never leaves a half-written target.
 */
export async function restoreImage(repo: Repository, snapshot: Snapshot, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  await repo.loadIndex();
  const progress = new ProgressReporter(options.onProgress);
  const concurrency = options.concurrency ?? 4;
  const result = { target, size: snapshot.size, bytesWritten: 0, bytesFetched: 0, holeBytes: 0, durationMs: 0 };
  await writeTargetFile(target, !!options.overwrite, async (handle) => {
    await handle.truncate(snapshot.size);
    for await (const page of readDiskMap(repo, snapshot)) {
      const work = groupByPack(repo, snapshot, page, result);
      const queue = [...work.entries()];
      const worker = async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const [pack, w] = item;
          await readPackBlobs(repo, repo.index.packId(pack), w.blobs, async (blob, data) => {
            result.bytesFetched += blob.length;
            for (const offset of w.offsets.get(idToHex(blob.id)) ?? []) {
              await handle.write(data, 0, data.length, offset);
              result.bytesWritten += data.length;
            }
            progress.report({ phase: 'restore', bytesDone: result.bytesWritten + result.holeBytes, bytesTotal: snapshot.size, bytesNew: result.bytesFetched, bytesStored: 0 });
          }).catch((err: unknown) => {
            if (err instanceof DamagedObjectError) {
              throw new DamagedObjectError(err.object, `${err.detail}; restore of snapshot ${snapshot.id.slice(0, 12)} stopped, the target was not written`, { cause: err });
            }
            throw err;
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    }
  });
  result.durationMs = progress.elapsedMs;
  progress.report({ phase: 'done', bytesDone: snapshot.size, bytesTotal: snapshot.size, bytesNew: result.bytesFetched, bytesStored: 0 }, true);
  return result;
}

/** The page's data chunks grouped by the pack that holds them, each with every offset it fills. */
function groupByPack(repo: Repository, snapshot: Snapshot, page: MapExtent[], result: { holeBytes: number }): Map<number, PackWork> {
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
    if (list) list.push(e.offset);
    else {
      w.offsets.set(hex, [e.offset]);
      w.blobs.push({ ...blob, id: Buffer.from(blob.id) });
    }
  }
  return work;
}
