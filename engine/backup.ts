import { cutDisk } from './chunker/chunk-stream';
import { chunkId } from './crypto/chunk-id';
import { InvalidInputError } from './errors';
import { ProgressReporter, type ProgressCallback } from './progress';
import type { DiskSource } from './source/disk-source';
import { BLOB_DATA } from './store/blob';
import { BlobWriter } from './store/blob-writer';
import { Lock } from './store/locks';
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
  /** Read size (tests use small windows to exercise window boundaries). */
  window?: number;
}

const ZEROS = Buffer.alloc(8 * 1024 * 1024);

function isZero(data: Uint8Array): boolean {
  for (let p = 0; p < data.length; p += ZEROS.length) {
    const n = Math.min(ZEROS.length, data.length - p);
    if (Buffer.compare(data.subarray(p, p + n), ZEROS.subarray(0, n)) !== 0) return false;
  }
  return true;
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
  const progress = new ProgressReporter(options.onProgress);
  await repo.loadIndex();
  const lock = await Lock.take(repo, false);
  const writer = new BlobWriter(repo);
  const map = new DiskMapWriter(repo, writer);
  const stats = { bytesRead: 0, bytesNew: 0, bytesStored: 0, chunks: 0, newChunks: 0, holeBytes: 0, durationMs: 0 };
  const key = repo.keys.chunkId;
  try {
    for await (const piece of cutDisk(source, repo.config.chunker, stats, options.window)) {
      if (piece.kind === 'hole') {
        stats.holeBytes += piece.length;
        await map.hole(piece.offset, piece.length);
        continue;
      }
      const { data } = piece;
      if (isZero(data)) {
        stats.holeBytes += data.length;
        await map.hole(piece.offset, data.length);
      } else {
        const id = chunkId(key, data);
        stats.chunks++;
        const stored = await writer.add(BLOB_DATA, id, data);
        if (stored > 0) {
          stats.newChunks++;
          stats.bytesNew += data.length;
        }
        await map.data(piece.offset, data.length, id);
      }
      progress.report({ phase: 'backup', bytesDone: stats.bytesRead + stats.holeBytes, bytesTotal: source.size, bytesNew: stats.bytesNew, bytesStored: writer.bytesStored });
    }
    const pages = await map.finish();
    await writer.flush();
    stats.bytesStored = writer.bytesStored;
    stats.durationMs = progress.elapsedMs;
    const host = currentHost();
    const manifest: SnapshotManifest = {
      version: 1,
      time: new Date().toISOString(),
      hostname: options.hostname ?? host.hostname,
      username: host.username,
      source: { ...options.sourceDetails, format: source.info.format, location: source.info.location },
      tags,
      size: source.size,
      chunker: repo.config.chunker,
      map: pages,
      stats,
    };
    const id = await saveSnapshot(repo, manifest);
    progress.report({ phase: 'done', bytesDone: source.size, bytesTotal: source.size, bytesNew: stats.bytesNew, bytesStored: stats.bytesStored }, true);
    return { id, ...manifest };
  } catch (err) {
    await writer.abort().catch(() => {
      // The backup's own error is the one to report; indexing what was stored is best effort.
    });
    throw err;
  } finally {
    await lock.release();
  }
}
