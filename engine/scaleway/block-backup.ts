/**
 * Back up a Scaleway Block Storage volume (DESIGN.md "Backup of a Scaleway Block Storage volume"):
 * snapshot it, export the snapshot as QCOW2 to the staging bucket, read the export straight from the
 * bucket with ranged GETs into the store, then remove the staging object and (unless kept) the
 * snapshot, also when something failed. Leftovers of earlier runs that died are removed first.
 */
import type { Blockv1 } from '@scaleway/sdk-block';
import { backupImage } from '../backup';
import type { ProgressCallback } from '../progress';
import { openQcow2 } from '../qcow2';
import type { Backend } from '../store/backend';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import {
  DEFAULT_STAGING_PREFIX, DEFAULT_STALE_AFTER_MS, FlowProgress, STAGING_TAG, TAG, callOrNotFound, checkId, checkPrefix, cleanupStep, newCleanupReport, stamp,
  type CleanupReport,
} from './common';
import { checkZone, type ScalewayClients } from './config';
import { ExportFailedError, WrongProjectError } from './errors';
import { S3ObjectReader } from './s3-object-reader';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

/** What the backup needs of the staging bucket (an S3Backend at the bucket's root). */
export type BackupStaging = Pick<Backend, 'location' | 'get' | 'stat' | 'delete' | 'list'>;

export interface BlockBackupOptions {
  zone: string;
  volumeId: string;
  /** The staging bucket (must exist, in the zone's region); `staging` must point at it. */
  bucket: string;
  /** Key prefix of staging objects (default `scw-backup`): exports go to `<prefix>/<volumeId>/<snapshotId>.qcow2`. */
  prefix?: string;
  /** Labels of the stored snapshot (environment, dataClass, ...). */
  tags?: Record<string, string>;
  /** Keep the Scaleway snapshot after the backup (retagged so that no later run removes it). */
  keepNativeSnapshot?: boolean;
  /** Phases: snapshotting, exporting, reading (with byte counts), done. */
  onProgress?: ProgressCallback;
  /** Things that did not stop the backup: cleanup failures, QCOW2 oddities. */
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  /** Staging leftovers older than this are removed (default 1 h). */
  staleAfterMs?: number;
  /** Clock for names and staleness (tests). */
  now?: () => number;
  hostname?: string;
  workers?: number;
}

export interface BlockBackupResult {
  snapshot: Snapshot;
  volume: { id: string; name: string; size: number; zone: string; projectId: string };
  nativeSnapshotId: string;
  nativeSnapshotKept: boolean;
  stagingKey: string;
  /** Removal of this run's staging object and snapshot. */
  cleanup: CleanupReport;
  /** Removal of earlier runs' leftovers. */
  leftovers: CleanupReport;
}

export async function backupBlockVolume(repo: Repository, clients: ScalewayClients, staging: BackupStaging, options: BlockBackupOptions): Promise<BlockBackupResult> {
  const zone = checkZone(options.zone);
  const volumeId = checkId(options.volumeId, 'volume id');
  const prefix = checkPrefix(options.prefix ?? DEFAULT_STAGING_PREFIX);
  const now = options.now ?? Date.now;
  const { block } = clients;
  const progress = new FlowProgress(options.onProgress);
  const warn = options.onWarning;

  const volume = await callOrNotFound('volume', volumeId, zone, `read volume ${volumeId} in ${zone}`, () => block.getVolume({ zone, volumeId }));
  if (volume.projectId !== clients.profile.projectId) throw new WrongProjectError('volume', volumeId, volume.projectId, clients.profile.projectId);

  // Listing the staging folder first also proves the bucket exists before anything is created.
  const leftovers = await removeLeftovers(clients, staging, { zone, volumeId, prefix, staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now: now(), warn });

  const cleanup = newCleanupReport();
  let native: Blockv1.Snapshot | undefined;
  let nativeAvailable = false;
  let key: string | undefined;
  let result: Snapshot | undefined;
  let failure: { error: unknown } | undefined;
  try {
    progress.phase('snapshotting', volume.size);
    native = await callScaleway(`snapshot volume ${volumeId}`, () => block.createSnapshot({
      zone, volumeId, name: `scw-backup-${volumeId}-${stamp(now())}`, tags: [TAG, STAGING_TAG],
    }));
    const snapshotId = native.id;
    await waitForStatus({
      resource: 'snapshot', id: snapshotId, wanted: 'available', fetch: () => block.getSnapshot({ zone, snapshotId }),
      status: (s) => s.status, done: ['available'], failed: ['error', 'deleted', 'deleting'],
    }, phaseWait(options.timeouts, 'snapshot'));
    nativeAvailable = true;

    progress.phase('exporting', volume.size);
    const stagingKey = `${prefix}/${volumeId}/${snapshotId}.qcow2`;
    key = stagingKey;
    await callScaleway(`export snapshot ${snapshotId} to s3://${options.bucket}/${stagingKey}`, () => block.exportSnapshotToObjectStorage({
      zone, snapshotId, bucket: options.bucket, key: stagingKey,
    }));
    // The key exists (empty) from the start of the export, on Scaleway as in the emulator: the
    // snapshot going back to `available` is what says the object is complete.
    await waitForStatus({
      resource: 'snapshot', id: snapshotId, wanted: 'the end of its export', fetch: () => block.getSnapshot({ zone, snapshotId }),
      status: (s) => s.status, done: ['available'], failed: ['error', 'deleted', 'deleting'],
      onFailed: (status) => new ExportFailedError(snapshotId, status, options.bucket, stagingKey),
    }, phaseWait(options.timeouts, 'export'));

    progress.phase('reading', volume.size);
    const reader = await S3ObjectReader.open(staging, stagingKey, { location: `scaleway-block://${zone}/${volumeId}` });
    const image = await openQcow2(reader, { onWarning: warn });
    try {
      result = await backupImage(repo, image, {
        tags: options.tags,
        hostname: options.hostname,
        workers: options.workers,
        sourceDetails: {
          kind: 'scaleway-block', zone, projectId: volume.projectId, volumeId, volumeName: volume.name, volumeSize: volume.size,
          volumeType: volume.type, ...(volume.specs?.perfIops !== undefined ? { perfIops: volume.specs.perfIops } : {}),
          ...(volume.specs?.class ? { storageClass: volume.specs.class } : {}),
          volumeTags: volume.tags.join(','),
          ...(options.keepNativeSnapshot ? { nativeSnapshotId: snapshotId } : {}),
        },
        onProgress: (p) => progress.bytes('reading', p.bytesDone, p.bytesTotal, p.bytesNew, p.bytesStored),
      });
    } finally {
      await image.close();
    }
  } catch (err) {
    failure = { error: err };
  }

  // Cleanup runs whatever happened above; its failures are reported, never hidden.
  if (key) {
    const k = key;
    await cleanupStep(cleanup, `s3://${options.bucket}/${k}`, () => staging.delete(k), warn);
  }
  let kept = false;
  if (native) {
    const id = native.id;
    if (options.keepNativeSnapshot && nativeAvailable && !failure) {
      // Without the staging tag, no later run takes it for a leftover.
      kept = true;
      await callScaleway(`retag snapshot ${id}`, () => block.updateSnapshot({ zone, snapshotId: id, tags: [TAG, 'scw-backup:kept'] }))
        .catch((err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          cleanup.failed.push({ what: `tags of snapshot ${id}`, error: msg });
          warn?.(`kept snapshot ${id} still carries the tag ${STAGING_TAG} and a later run may remove it: ${msg}`);
        });
    } else {
      await cleanupStep(cleanup, `snapshot ${id}`, () => callScaleway(`delete snapshot ${id}`, () => block.deleteSnapshot({ zone, snapshotId: id })), warn);
    }
  }
  if (failure) throw failure.error;
  if (!result || !native || !key) throw new Error('unreachable: backup finished without a snapshot');
  progress.bytes('done', volume.size, volume.size, result.stats.bytesNew, result.stats.bytesStored, true);
  return {
    snapshot: result,
    volume: { id: volume.id, name: volume.name, size: volume.size, zone, projectId: volume.projectId },
    nativeSnapshotId: native.id,
    nativeSnapshotKept: kept,
    stagingKey: key,
    cleanup,
    leftovers,
  };
}

/**
 * Remove what runs that died left behind for this volume: snapshots tagged `scw-backup:staging`
 * and staging objects under `<prefix>/<volumeId>/`, once older than `staleAfterMs` (a younger one
 * may belong to a run still going). An object whose age is unknown is removed when its snapshot
 * (named by the key) no longer exists.
 */
async function removeLeftovers(
  clients: ScalewayClients, staging: BackupStaging,
  o: { zone: string; volumeId: string; prefix: string; staleAfterMs: number; now: number; warn?: (msg: string) => void },
): Promise<CleanupReport> {
  const report = newCleanupReport();
  const { block } = clients;
  const zone = o.zone;
  // Listed before anything else: a missing bucket or bad credentials stop the backup here.
  const objects = [];
  for await (const obj of staging.list(`${o.prefix}/${o.volumeId}`)) objects.push(obj);

  const snapshots = await callScaleway(`list snapshots of volume ${o.volumeId}`, () => block.listSnapshots({
    zone, volumeId: o.volumeId, tags: [STAGING_TAG], includeDeleted: false,
  }).all());
  const live = new Set<string>();
  // A snapshot still exporting belongs to a run that may be alive (a 1 TB export takes hours), and
  // Scaleway would refuse to delete it anyway: leave it and its object alone.
  const exporting = new Set(snapshots.filter((s) => s.status === 'exporting').map((s) => s.id));
  for (const s of snapshots) {
    live.add(s.id);
    if (!s.tags.includes(STAGING_TAG) || exporting.has(s.id) || !s.createdAt || o.now - s.createdAt.getTime() < o.staleAfterMs) continue;
    const id = s.id;
    if (await cleanupStep(report, `snapshot ${id}`, () => callScaleway(`delete snapshot ${id}`, () => block.deleteSnapshot({ zone, snapshotId: id })), o.warn)) live.delete(id);
  }
  for (const obj of objects) {
    const snapshotId = /([0-9a-f-]{36})\.qcow2$/.exec(obj.path)?.[1];
    if (snapshotId !== undefined && exporting.has(snapshotId)) continue;
    const stale = obj.modified ? o.now - obj.modified.getTime() >= o.staleAfterMs : snapshotId !== undefined && !live.has(snapshotId) && !(await snapshotExists(clients, zone, snapshotId));
    if (!stale) continue;
    await cleanupStep(report, `${staging.location.replace(/\/+$/, '')}/${obj.path}`, () => staging.delete(obj.path), o.warn);
  }
  return report;
}

async function snapshotExists(clients: ScalewayClients, zone: string, snapshotId: string): Promise<boolean> {
  try {
    await callOrNotFound('snapshot', snapshotId, zone, `read snapshot ${snapshotId}`, () => clients.block.getSnapshot({ zone, snapshotId }));
    return true;
  } catch (err) {
    if (err instanceof Error && (err as { code?: string }).code === 'NOT_FOUND') return false;
    throw err;
  }
}
