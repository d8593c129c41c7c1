/**
 * The backup of one Scaleway volume through the staging bucket, whichever API holds its snapshots
 * (native-snapshots.ts): snapshot it, export the snapshot as QCOW2 to the bucket, read the export
 * straight from the bucket with ranged GETs into the store, then remove the staging object and
 * (unless kept) the snapshot, also when something failed or the run was asked to stop (its
 * AbortSignal: the InterruptedError thrown then says what was removed). Leftovers of earlier runs
 * that died are removed first.
 */
import { backupImage } from '../backup';
import { REMOTE_WINDOW } from '../chunker/chunk-stream';
import type { ProgressCallback } from '../progress';
import { openQcow2 } from '../qcow2';
import type { Backend } from '../store/backend';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { FlowProgress, STAGING_TAG, TAG, cleanupStep, interruptedWith, newCleanupReport, stamp, type CleanupReport } from './common';
import { checkTransferable } from './limits';
import { keepOrDelete, type NativeSnapshots } from './native-snapshots';
import { S3ObjectReader } from './s3-object-reader';
import type { FlowTimeouts } from './wait';

/** What the backup needs of the staging bucket (an S3Backend at the bucket's root). */
export type BackupStaging = Pick<Backend, 'location' | 'get' | 'stat' | 'delete' | 'list'>;

export interface ExportBackupOptions {
  zone: string;
  volumeId: string;
  volumeSize: number;
  bucket: string;
  prefix: string;
  /** `scaleway-block://zone/volume`, ...: the snapshot's source location. */
  location: string;
  /** What the manifest records about the source (kind, ids, names, sizes, ...). */
  sourceDetails: Record<string, string | number | boolean>;
  tags?: Record<string, string>;
  keepNativeSnapshot?: boolean;
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  staleAfterMs: number;
  now: () => number;
  hostname?: string;
  workers?: number;
  /** The manifest's time (a server's volumes share their group's). */
  time?: Date;
  /** Largest volume Scaleway exports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /** Stop at the next safe point (SIGINT, SIGTERM), clean up, throw an InterruptedError. Give the same one to the NativeSnapshots. */
  signal?: AbortSignal;
}

export interface ExportBackupResult {
  snapshot: Snapshot;
  nativeSnapshotId: string;
  nativeSnapshotKept: boolean;
  stagingKey: string;
  cleanup: CleanupReport;
  leftovers: CleanupReport;
}

export async function backupThroughExport(repo: Repository, snapshots: NativeSnapshots, staging: BackupStaging, o: ExportBackupOptions): Promise<ExportBackupResult> {
  // Before anything is created or removed: a volume Scaleway would not export is refused now.
  checkTransferable(`volume ${o.volumeId} in ${o.zone}`, o.zone, o.volumeSize, 'back up', o.transferLimit);
  o.signal?.throwIfAborted();
  const progress = new FlowProgress(o.onProgress);
  const warn = o.onWarning;
  // Listing the staging folder first also proves the bucket exists before anything is created.
  const leftovers = await removeLeftovers(snapshots, staging, { volumeId: o.volumeId, prefix: o.prefix, staleAfterMs: o.staleAfterMs, now: o.now(), warn });

  const cleanup = newCleanupReport();
  let nativeId: string | undefined;
  let key: string | undefined;
  let result: Snapshot | undefined;
  let failure: { error: unknown } | undefined;
  try {
    progress.phase('snapshotting', o.volumeSize);
    const name = `scw-backup-${o.volumeId}-${stamp(o.now())}`;
    // Tagged as staging from the start: if this run dies, a later one recognises it as a leftover.
    nativeId = await snapshots.create(o.volumeId, name, [TAG, STAGING_TAG]);
    const snapshotId = nativeId;
    await snapshots.waitCreated(snapshotId, o.timeouts);

    progress.phase('exporting', o.volumeSize);
    key = `${o.prefix}/${o.volumeId}/${snapshotId}.qcow2`;
    await snapshots.exportTo(snapshotId, o.bucket, key, o.timeouts);

    progress.phase('reading', o.volumeSize);
    const reader = await S3ObjectReader.open(staging, key, { location: o.location, signal: o.signal });
    // QCOW2 by construction: Scaleway exports nothing else (docs/QCOW2.md "Which format a backup reads").
    const image = await openQcow2(reader, { onWarning: warn, formatReason: 'scaleway-export' });
    try {
      result = await backupImage(repo, image, {
        tags: o.tags,
        hostname: o.hostname,
        workers: o.workers,
        window: REMOTE_WINDOW,
        time: o.time,
        signal: o.signal,
        onWarning: warn,
        sourceDetails: { ...o.sourceDetails, ...(o.keepNativeSnapshot ? { nativeSnapshotId: snapshotId } : {}) },
        onProgress: (p) => progress.bytes('reading', p.bytesDone, p.bytesTotal, p.bytesNew, p.bytesStored),
      });
    } finally {
      await image.close();
    }
  } catch (err) {
    failure = { error: err };
  }

  // Cleanup runs whatever happened above; its failures are reported, never hidden. A snapshot
  // still exporting (the run was stopped meanwhile) cannot be deleted, and would write the object
  // again after we removed it: wait for the export to end first.
  if (nativeId && failure) {
    const id = nativeId;
    await snapshots.settle(id, o.timeouts).catch(() => undefined); // a failure shows in the delete below
  }
  if (key) {
    const k = key;
    await cleanupStep(cleanup, `s3://${o.bucket}/${k}`, () => staging.delete(k), warn);
  }
  // Kept without the staging tag, so that no later run takes it for a leftover; else deleted.
  const kept = nativeId ? await keepOrDelete(snapshots, nativeId, { keep: !!o.keepNativeSnapshot && !failure, cleanup, warn }) : false;
  if (failure) throw o.signal?.aborted ? interruptedWith(o.signal, failure.error, cleanup) : attachCleanup(failure.error, cleanup);
  if (!result || !nativeId || !key) throw new Error('unreachable: backup finished without a snapshot');
  progress.bytes('done', o.volumeSize, o.volumeSize, result.stats.bytesNew, result.stats.bytesStored, true);
  return { snapshot: result, nativeSnapshotId: nativeId, nativeSnapshotKept: kept, stagingKey: key, cleanup, leftovers };
}

/**
 * The flow's error, with what its cleanup could not remove attached (`cleanupFailed`) and named in
 * the message: the caller sees both the cause and what is left to remove by hand.
 */
export function attachCleanup(error: unknown, cleanup: CleanupReport): unknown {
  if (cleanup.failed.length === 0 || !(error instanceof Error)) return error;
  const e = error as Error & { cleanupFailed?: CleanupReport['failed'] };
  e.cleanupFailed = [...(e.cleanupFailed ?? []), ...cleanup.failed];
  e.message += `; left behind: ${cleanup.failed.map((f) => `${f.what} (${f.error})`).join(', ')}`;
  return e;
}

/**
 * Remove what runs that died left behind for this volume: snapshots tagged `scw-backup:staging`
 * and staging objects under `<prefix>/<volumeId>/`, once older than `staleAfterMs` (a younger one
 * may belong to a run still going). An object whose age is unknown is removed when its snapshot
 * (named by the key) no longer exists.
 */
async function removeLeftovers(
  snapshots: NativeSnapshots, staging: BackupStaging,
  o: { volumeId: string; prefix: string; staleAfterMs: number; now: number; warn?: (msg: string) => void },
): Promise<CleanupReport> {
  const report = newCleanupReport();
  // Listed before anything else: a missing bucket or bad credentials stop the backup here.
  const objects = [];
  for await (const obj of staging.list(`${o.prefix}/${o.volumeId}`)) objects.push(obj);

  const list = await snapshots.listTagged(STAGING_TAG, o.volumeId);
  const live = new Set<string>();
  // A snapshot still exporting belongs to a run that may be alive (a 1 TB export takes hours), and
  // Scaleway would refuse to delete it anyway: leave it and its object alone.
  const exporting = new Set(list.filter((s) => s.status === 'exporting').map((s) => s.id));
  for (const s of list) {
    live.add(s.id);
    if (!s.tags.includes(STAGING_TAG) || exporting.has(s.id) || !s.createdAt || o.now - s.createdAt.getTime() < o.staleAfterMs) continue;
    const id = s.id;
    if (await cleanupStep(report, `${snapshots.label} ${id}`, () => snapshots.delete(id), o.warn)) live.delete(id);
  }
  for (const obj of objects) {
    const snapshotId = /([0-9a-f-]{36})\.qcow2$/.exec(obj.path)?.[1];
    if (snapshotId !== undefined && exporting.has(snapshotId)) continue;
    const stale = obj.modified ? o.now - obj.modified.getTime() >= o.staleAfterMs : snapshotId !== undefined && !live.has(snapshotId) && !(await snapshots.exists(snapshotId));
    if (!stale) continue;
    await cleanupStep(report, `${staging.location.replace(/\/+$/, '')}/${obj.path}`, () => staging.delete(obj.path), o.warn);
  }
  return report;
}
