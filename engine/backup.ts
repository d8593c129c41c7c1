import { cutDisk, windowSize } from './chunker/chunk-stream';
import type { Clock } from './clock';
import { InvalidInputError } from './errors';
import { ProgressReporter, type ProgressCallback } from './progress';
import { MAX_DISK_BYTES, type DiskSource } from './source/disk-source';
import { BackupPipeline } from './pipeline/backup-pipeline';
import { backupChunkPool } from './pipeline/chunk-pool';
import { BlobWriter } from './store/blob-writer';
import { Lock, leftBehindWarning } from './store/locks';
import type { Repository } from './store/repository';
import type { Snapshot, SnapshotManifest } from './store/snapshot';
import { DiskMapWriter, currentHost, saveSnapshot } from './store/snapshots';

export interface BackupOptions {
  /** key=value labels, e.g. environment, dataClass. */
  tags?: Record<string, string>;
  /** Extra source description merged into the manifest's `source` (zone, volume id, ...). */
  sourceDetails?: Record<string, string | number | boolean>;
  hostname?: string;
  onProgress?: ProgressCallback;
  /** Read size (default DEFAULT_WINDOW, 1 MiB; REMOTE_WINDOW for a source read by ranged GETs; tests use small windows to exercise window boundaries). */
  window?: number;
  /** Threads for hashing, compression and encryption (default: one per core; 0 = inline). */
  workers?: number;
  /** Hash and seal on worker threads even where the native addons are built (pipeline/chunk-pool.ts). */
  workerThreads?: boolean;
  /** The manifest's time (default: when the backup ends); the volumes of one server share one. */
  time?: Date;
  /** This process's clocks, for the lock's freshness (tests shift them). */
  clock?: Clock;
  /** Stop at the next safe point (Ctrl-C): no snapshot, what was stored indexed, the lock released. */
  signal?: AbortSignal;
  /** What did not stop the backup: lock files a key without delete rights could not remove. */
  onWarning?: (message: string) => void;
}

export function validateTags(tags: Record<string, string>): void {
  for (const [k, v] of Object.entries(tags)) {
    if (!/^[A-Za-z0-9_.:/-]{1,128}$/.test(k)) throw new InvalidInputError(`tag ${JSON.stringify(k)}`, 'a tag key is 1-128 letters, digits or _.:/-');
    if (v.length > 1024) throw new InvalidInputError(`tag ${k}`, 'a tag value is at most 1024 characters');
  }
}

/**
 * Back up a guest disk: cut it into chunks, store the chunks the repository lacks, then the disk map,
 * the index, and last the snapshot manifest. A failure at any point leaves the repository valid: no
 * manifest points at anything that was not stored first.
 */
export async function backupImage(repo: Repository, source: DiskSource, options: BackupOptions = {}): Promise<Snapshot> {
  const tags = options.tags ?? {};
  validateTags(tags);
  if (!Number.isInteger(source.size) || source.size < 0 || source.size > MAX_DISK_BYTES) {
    throw new InvalidInputError(source.info.location, `a disk of ${source.size} bytes cannot be backed up: the largest a snapshot can record is ${MAX_DISK_BYTES} (2^53 - 1)`);
  }
  const progress = new ProgressReporter(options.onProgress);
  // Worker threads, where used, boot (a thread, modules, keys) while the lock is taken and the index read.
  const pool = backupChunkPool(repo.keys, { threads: options.workers, workerThreads: options.workerThreads });
  // Lock first, then read the index: a prune that finished before the lock cannot have removed packs
  // this backup then deduplicates against (prune refuses to start while the lock exists). Reading
  // and hashing do not need either, so they start at once; the first lookup waits for the index.
  let lock: Lock | undefined;
  const indexed = (async () => {
    lock = await Lock.take(repo, false, { clock: options.clock, signal: options.signal });
    await repo.loadIndex();
  })();
  indexed.catch(() => {
    // Observed by the pipeline's first lookup, which fails the backup with it.
  });
  // Index files and the manifest are commits: each waits for proof that our lock still holds. After a
  // failure or a stop request, indexing what was stored is clean-up: only a lapsed lock stops it.
  let aborting = false;
  const confirmLock = async (): Promise<void> => {
    if (!lock) throw new Error('backup: no lock is held');
    await lock.confirm({ cleanup: aborting });
  };
  const writer = new BlobWriter(repo, { beforeIndex: confirmLock });
  const map = new DiskMapWriter(repo, writer);
  const stats = { bytesRead: 0, bytesNew: 0, bytesStored: 0, chunks: 0, newChunks: 0, holeBytes: 0, durationMs: 0 };
  const chunker = repo.config.chunker;
  const window = windowSize(chunker, options.window);
  const pipeline = new BackupPipeline(pool, writer, map, stats, window, chunker.kind === 'fixed' ? chunker.size : chunker.min, indexed);
  try {
    await pipeline.start();
    for await (const piece of cutDisk(source, chunker, stats, window, pipeline.takeWindow)) {
      await pipeline.add(piece);
      // A backup whose lock lapsed (paused, or the store unreachable for long) stops now, not at the end;
      // so does one asked to stop (before its lock is taken too).
      options.signal?.throwIfAborted();
      lock?.assertFresh();
      // Counted in bytes read against what the source expects to read (holes cost nothing), so that
      // the rate and the ETA hold for a sparse disk; a source that cannot tell counts guest offsets.
      const read = source.expectedReadBytes === undefined
        ? { bytesDone: piece.offset, bytesTotal: source.size }
        : { bytesDone: stats.bytesRead, bytesTotal: Math.max(source.expectedReadBytes, stats.bytesRead) };
      progress.report({ phase: 'backup', ...read, bytesNew: stats.bytesNew, bytesStored: writer.bytesStored });
    }
    await pipeline.finish();
    await indexed; // a disk of holes only never looked anything up: the lock must still be held
    const pages = await map.finish();
    await writer.flush();
    stats.bytesStored = writer.bytesStored;
    stats.durationMs = progress.elapsedMs;
    const host = currentHost();
    const manifest: SnapshotManifest = {
      version: 1,
      time: (options.time ?? new Date()).toISOString(),
      hostname: options.hostname ?? host.hostname,
      username: host.username,
      source: {
        ...options.sourceDetails, format: source.info.format,
        ...(source.info.formatReason ? { formatReason: source.info.formatReason } : {}), location: source.info.location,
      },
      tags,
      size: source.size,
      chunker: repo.config.chunker,
      map: pages,
      stats,
    };
    await confirmLock();
    const id = await saveSnapshot(repo, manifest);
    progress.report({ phase: 'done', bytesDone: source.size, bytesTotal: source.size, bytesNew: stats.bytesNew, bytesStored: stats.bytesStored }, true);
    return { id, ...manifest };
  } catch (err) {
    aborting = true;
    await pipeline.abort();
    await writer.abort().catch(() => {
      // The backup's own error is the one to report; indexing what was stored is best effort.
    });
    // A failure after our lock lapsed (a prune may have removed what we were writing) is the lapse's.
    throw lock?.lapsed(err) ?? err;
  } finally {
    await pool.close();
    // A backup that failed early (a source that cannot be read) may still be taking the lock.
    await indexed.catch(() => undefined);
    await lock?.release();
    const left = leftBehindWarning(lock);
    if (left) options.onWarning?.(left);
  }
}
