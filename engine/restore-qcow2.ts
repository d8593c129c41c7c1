import { qcow2Stream } from './qcow2';
import { ProgressReporter } from './progress';
import type { RestoreOptions, RestoreResult } from './restore';
import { SnapshotSource } from './source/snapshot-source';
import type { Repository } from './store/repository';
import type { Snapshot } from './store/snapshot';
import { writeTargetFile } from './target-file';

/**
 * Restore a snapshot as a QCOW2 v3 image (uncompressed, no backing file: what Scaleway imports).
 * Holes stay unallocated clusters; the image is streamed, so the same stream can feed an upload.
 */
export async function restoreQcow2(repo: Repository, snapshot: Snapshot, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  await repo.loadIndex();
  const progress = new ProgressReporter(options.onProgress);
  const source = new SnapshotSource(repo, snapshot);
  let written = 0;
  await writeTargetFile(target, !!options.overwrite, async (handle) => {
    // Zero runs are already holes in the disk map: trust the extents, don't read data twice.
    for await (const piece of qcow2Stream(source, { skipZeroClusters: false })) {
      await handle.write(piece, 0, piece.length, written);
      written += piece.length;
      progress.report({ phase: 'restore', bytesDone: written, bytesNew: 0, bytesStored: 0 });
    }
  });
  await source.close();
  const dataBytes = snapshot.size - snapshot.stats.holeBytes;
  const result = { target, size: snapshot.size, bytesWritten: written, bytesFetched: dataBytes, holeBytes: snapshot.stats.holeBytes, durationMs: progress.elapsedMs };
  progress.report({ phase: 'done', bytesDone: written, bytesNew: 0, bytesStored: 0 }, true);
  return result;
}
