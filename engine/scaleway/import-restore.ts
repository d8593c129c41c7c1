/**
 * The restore of one stored disk as a new Scaleway volume through the staging bucket, whichever API
 * takes the import (native-snapshots.ts): stream a QCOW2 of the snapshot into the bucket (multipart,
 * no temporary file), import it as a snapshot, create the volume from it (the caller's step), then
 * remove the staging object and the intermediate snapshot, also on failure. Stopped by its signal
 * (SIGINT, SIGTERM) before the last step, it removes the volume it created too.
 */
import { BackupError, InvalidInputError } from '../errors';
import type { ProgressCallback } from '../progress';
import { planQcow2, qcow2Range } from '../qcow2';
import { SnapshotSource } from '../source/snapshot-source';
import type { Backend } from '../store/backend';
import type { S3Backend } from '../store/backends/s3';
import { withLock } from '../store/lock-scope';
import type { Lock } from '../store/locks';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { DEFAULT_STALE_AFTER_MS, FlowProgress, STAGING_TAG, TAG, cleanupStep, interruptedWith, newCleanupReport, stamp, type CleanupReport } from './common';
import { attachCleanup } from './export-backup';
import { checkTransferable } from './limits';
import type { NativeSnapshots } from './native-snapshots';
import type { FlowTimeouts } from './wait';

/** What the restore needs of the staging bucket (an S3Backend at the bucket's root). */
export type RestoreStaging = Pick<Backend, 'location' | 'delete' | 'list'> & Pick<S3Backend, 'putRanged'>;

/** A restore failed after the volume was created: the volume is left in place and named here. */
export class RestoreIncompleteError extends BackupError {
  readonly volumeId: string;
  constructor(volumeId: string, zone: string, cause: unknown) {
    super('SCW_RESTORE_INCOMPLETE', `volume ${volumeId} was restored in ${zone} and left in place, but the restore then failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.volumeId = volumeId;
  }
}

export interface RestoredVolume {
  id: string;
  name: string;
  size: number;
}

export interface ImportRestoreOptions {
  snapshot: Snapshot;
  zone: string;
  bucket: string;
  prefix: string;
  /** Size of the new volume (default the original's; never smaller than the disk). */
  size?: number;
  /**
   * Create the volume from the imported snapshot (of `size` bytes: resized on creation when the
   * import is smaller) and wait until it is usable; tell `created` its id as soon as it exists.
   */
  createVolume(importedSnapshotId: string, size: number, time: string, created: (volumeId: string) => void): Promise<RestoredVolume>;
  /** Remove a volume this restore created (it was stopped before the end); waits out a transient state. */
  removeVolume(volumeId: string): Promise<void>;
  /**
   * Optional last step on the new volume (attach); a failure leaves the volume in place. It runs to
   * its end once started: a stop request is honoured before it, not in the middle of a swap.
   */
  finish?(volume: RestoredVolume): Promise<void>;
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  /** Leftovers of earlier restores older than this are removed first (default 1 h). */
  staleAfterMs?: number;
  now: () => number;
  /** Read the store without locking it (a read-only store; see lock-scope.ts). */
  noLock?: boolean;
  /** Largest volume Scaleway imports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /** Stop at the next safe point, clean up (the volume too), throw an InterruptedError. Give the same one to the NativeSnapshots. */
  signal?: AbortSignal;
}

export interface ImportRestoreResult {
  volume: RestoredVolume;
  importedSnapshotId: string;
  stagingKey: string;
  bytesUploaded: number;
  cleanup: CleanupReport;
  /** Removal of earlier restores' leftovers. */
  leftovers: CleanupReport;
}

/**
 * Under a non-exclusive lock of the store for the whole restore (FORMAT.md §9): a prune cannot remove
 * the snapshot's data while it streams, and the import that follows is short next to the upload.
 */
export function restoreThroughImport(repo: Repository, snapshots: NativeSnapshots, staging: RestoreStaging, o: ImportRestoreOptions): Promise<ImportRestoreResult> {
  return withLock(repo, { operation: 'restore', reader: true, noLock: o.noLock, snapshot: o.snapshot, warn: o.onWarning, signal: o.signal }, (lock) => restoreLocked(repo, snapshots, staging, o, lock));
}

async function restoreLocked(repo: Repository, snapshots: NativeSnapshots, staging: RestoreStaging, o: ImportRestoreOptions, lock: Lock | undefined): Promise<ImportRestoreResult> {
  const progress = new FlowProgress(o.onProgress);
  const warn = o.onWarning;
  const snap = o.snapshot;
  const time = stamp(o.now());
  const stagingKey = `${o.prefix}/restore/${snap.id.slice(0, 16)}-${time}.qcow2`;
  const originalSize = typeof snap.source.volumeSize === 'number' ? snap.source.volumeSize : undefined;
  // Before the bucket is touched: a volume Scaleway would not import is refused now.
  checkTransferable(`the volume of snapshot ${snap.id.slice(0, 12)}`, o.zone, Math.max(o.size ?? originalSize ?? snap.size, snap.size), 'restore', o.transferLimit);

  // Listing the staging folder first also proves the bucket exists before anything is uploaded.
  const leftovers = await removeRestoreLeftovers(snapshots, staging, { prefix: o.prefix, staleAfterMs: o.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now: o.now(), warn });
  await repo.loadIndex();
  const source = new SnapshotSource(repo, snap, { lock });
  // Zero runs are holes in the disk map already: trust the extents, read nothing while planning.
  const plan = await planQcow2(source, { skipZeroClusters: false });
  if (o.size !== undefined && (!Number.isSafeInteger(o.size) || o.size < plan.virtualSize)) {
    await source.close();
    throw new InvalidInputError('size', `${o.size} bytes is smaller than the ${plan.virtualSize}-byte disk of snapshot ${snap.id.slice(0, 12)}`);
  }
  const size = Math.max(o.size ?? originalSize ?? plan.virtualSize, plan.virtualSize);

  const cleanup = newCleanupReport();
  let uploaded = 0;
  let stagingWritten = false;
  let importedId: string | undefined;
  let volumeId: string | undefined;
  let volume: RestoredVolume | undefined;
  let failure: { error: unknown } | undefined;
  try {
    progress.bytes('uploading', 0, plan.length, 0, 0, true);
    stagingWritten = true; // a failed multipart upload may still leave an object (or parts) behind
    // Each part is a range of the image, built again if it must be sent again (qcow2/range.ts).
    await staging.putRanged(stagingKey, plan.length, (start, end) => qcow2Range(source, plan, start, end), {
      signal: o.signal,
      onProgress: (bytes) => {
        uploaded = bytes;
        progress.bytes('uploading', bytes, plan.length, 0, bytes);
      },
    });

    progress.phase('importing', size);
    importedId = await snapshots.startImport(o.bucket, stagingKey, `${IMPORT_NAME}${snap.id.slice(0, 12)}-${time}`, size, [TAG, STAGING_TAG]);
    await snapshots.waitImported(importedId, o.bucket, stagingKey, o.timeouts);

    progress.phase('creating-volume', size);
    volume = await o.createVolume(importedId, size, time, (id) => (volumeId = id));
    o.signal?.throwIfAborted();
    if (o.finish) await o.finish(volume);
  } catch (err) {
    if (o.signal?.aborted) {
      // Stopped before the last step: the volume is ours to remove, like the rest.
      failure = { error: err };
      if (volumeId) {
        const id = volumeId;
        await cleanupStep(cleanup, `volume ${id}`, () => o.removeVolume(id), warn);
      }
    } else {
      failure = { error: volume ? new RestoreIncompleteError(volume.id, o.zone, err) : err };
      if (volume) warn?.(`volume ${volume.id} was created and is left in place: ${err instanceof Error ? err.message : String(err)}`);
    }
  } finally {
    await source.close().catch(() => undefined);
  }

  if (stagingWritten) await cleanupStep(cleanup, `s3://${o.bucket}/${stagingKey}`, () => staging.delete(stagingKey), warn);
  if (importedId) {
    const id = importedId;
    // An import still running (the restore was stopped meanwhile) cannot be deleted: let it end first.
    if (failure) await snapshots.settle(id, o.timeouts).catch(() => undefined); // a failure shows in the delete
    await cleanupStep(cleanup, `${snapshots.label} ${id}`, () => snapshots.delete(id), warn);
  }
  if (failure) throw o.signal?.aborted ? interruptedWith(o.signal, failure.error, cleanup) : attachCleanup(failure.error, cleanup);
  if (!volume || !importedId) throw new Error('unreachable: restore finished without a volume');
  progress.bytes('done', plan.length, plan.length, 0, uploaded, true);
  return { volume, importedSnapshotId: importedId, stagingKey, bytesUploaded: uploaded, cleanup, leftovers };
}

/** Name prefix of the snapshots a restore imports (and a later restore may remove as leftovers). */
const IMPORT_NAME = 'scw-backup-restore-';

/**
 * Remove what restores that died left behind: images under `<prefix>/restore/` and imported
 * snapshots (tagged `scw-backup:staging`, named `scw-backup-restore-…`), once older than
 * `staleAfterMs` (a younger one may belong to a restore still going).
 */
async function removeRestoreLeftovers(
  snapshots: NativeSnapshots, staging: RestoreStaging, o: { prefix: string; staleAfterMs: number; now: number; warn?: (msg: string) => void },
): Promise<CleanupReport> {
  const report = newCleanupReport();
  const stale = (d: Date | undefined) => d !== undefined && o.now - d.getTime() >= o.staleAfterMs;
  for await (const obj of staging.list(`${o.prefix}/restore`)) {
    if (!stale(obj.modified)) continue;
    await cleanupStep(report, `${staging.location.replace(/\/+$/, '')}/${obj.path}`, () => staging.delete(obj.path), o.warn);
  }
  for (const s of await snapshots.listTagged(STAGING_TAG)) {
    // An import still running cannot be deleted, and may belong to a live restore.
    if (!s.name.startsWith(IMPORT_NAME) || (s.status !== 'available' && s.status !== 'error') || !stale(s.createdAt)) continue;
    const id = s.id;
    await cleanupStep(report, `${snapshots.label} ${id}`, () => snapshots.delete(id), o.warn);
  }
  return report;
}
