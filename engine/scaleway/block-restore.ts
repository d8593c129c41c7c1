/**
 * Restore a stored snapshot as a new Scaleway Block Storage volume (DESIGN.md "Restore"): stream a
 * QCOW2 of it into the staging bucket (multipart, no temporary file), import that as a Scaleway
 * snapshot, create the volume from it, optionally attach it to a server, and remove the staging
 * object and the intermediate snapshot, also on failure. The original volume is never touched.
 */
import type { Blockv1 } from '@scaleway/sdk-block';
import { BackupError, InvalidInputError } from '../errors';
import type { ProgressCallback } from '../progress';
import { planQcow2, qcow2Stream } from '../qcow2';
import { SnapshotSource } from '../source/snapshot-source';
import type { Backend } from '../store/backend';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import {
  DEFAULT_STAGING_PREFIX, FlowProgress, STAGING_TAG, TAG, callOrNotFound, checkId, checkPrefix, cleanupStep, newCleanupReport, stamp,
  type CleanupReport,
} from './common';
import { checkZone, type ScalewayClients } from './config';
import { ImportFailedError } from './errors';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

/** What the restore needs of the staging bucket (an S3Backend at the bucket's root). */
export type RestoreStaging = Pick<Backend, 'location' | 'delete'> & {
  putStream(path: string, stream: AsyncIterable<Uint8Array>, options?: { expectedSize?: number; onProgress?: (bytes: number) => void }): Promise<void>;
};

export interface BlockRestoreOptions {
  snapshot: Snapshot;
  zone: string;
  bucket: string;
  /** Key prefix of staging objects (default `scw-backup`): the image goes to `<prefix>/restore/<snapshot>-<time>.qcow2`. */
  prefix?: string;
  /** Name of the new volume (default `<original name>-restored-<time>`). */
  name?: string;
  /** Size of the new volume in bytes (default the original's; never smaller than the disk). */
  size?: number;
  /** IOPS class (default the original's when the snapshot recorded it, else Scaleway's default). */
  perfIops?: number;
  /** Tags of the new volume (default `scw-backup:restored`). */
  tags?: string[];
  attachToServerId?: string;
  /** Phases: uploading (with byte counts), importing, creating-volume, attaching, done. */
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  now?: () => number;
}

export interface BlockRestoreResult {
  volumeId: string;
  volumeName: string;
  zone: string;
  size: number;
  attachedTo?: string;
  /** The intermediate (imported) Scaleway snapshot, removed by the cleanup. */
  importedSnapshotId: string;
  stagingKey: string;
  bytesUploaded: number;
  cleanup: CleanupReport;
}

/** A restore failed after the volume was created: the volume is left in place and named here. */
export class RestoreIncompleteError extends BackupError {
  readonly volumeId: string;
  constructor(volumeId: string, zone: string, cause: unknown) {
    super('SCW_RESTORE_INCOMPLETE', `volume ${volumeId} was restored in ${zone} and left in place, but the restore then failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.volumeId = volumeId;
  }
}

export async function restoreBlockVolume(repo: Repository, clients: ScalewayClients, staging: RestoreStaging, options: BlockRestoreOptions): Promise<BlockRestoreResult> {
  const zone = checkZone(options.zone);
  const prefix = checkPrefix(options.prefix ?? DEFAULT_STAGING_PREFIX);
  if (options.attachToServerId) checkId(options.attachToServerId, 'server id');
  const now = options.now ?? Date.now;
  const { block, instance } = clients;
  const progress = new FlowProgress(options.onProgress);
  const warn = options.onWarning;
  const snap = options.snapshot;
  const src = snap.source;
  const time = stamp(now());
  const stagingKey = `${prefix}/restore/${snap.id.slice(0, 16)}-${time}.qcow2`;
  const originalName = typeof src.volumeName === 'string' ? src.volumeName : `snapshot-${snap.id.slice(0, 12)}`;
  const originalSize = typeof src.volumeSize === 'number' ? src.volumeSize : undefined;
  const perfIops = options.perfIops ?? (typeof src.perfIops === 'number' ? src.perfIops : undefined);

  await repo.loadIndex();
  const source = new SnapshotSource(repo, snap);
  // Zero runs are holes in the disk map already: trust the extents, read nothing while planning.
  const plan = await planQcow2(source, { skipZeroClusters: false });
  if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < plan.virtualSize)) {
    throw new InvalidInputError('size', `${options.size} bytes is smaller than the ${plan.virtualSize}-byte disk of snapshot ${snap.id.slice(0, 12)}`);
  }
  const size = Math.max(options.size ?? originalSize ?? plan.virtualSize, plan.virtualSize);

  const cleanup = newCleanupReport();
  let uploaded = 0;
  let stagingWritten = false;
  let imported: Blockv1.Snapshot | undefined;
  let volume: Blockv1.Volume | undefined;
  let attachedTo: string | undefined;
  let failure: { error: unknown } | undefined;
  try {
    progress.bytes('uploading', 0, plan.length, 0, 0, true);
    stagingWritten = true; // a failed multipart upload may still leave an object (or parts) behind
    await staging.putStream(stagingKey, qcow2Stream(source, { skipZeroClusters: false, plan }), {
      expectedSize: plan.length,
      onProgress: (bytes) => {
        uploaded = bytes;
        progress.bytes('uploading', bytes, plan.length, 0, bytes);
      },
    });

    progress.phase('importing', size);
    imported = await callScaleway(`import s3://${options.bucket}/${stagingKey} as a snapshot`, () => block.importSnapshotFromObjectStorage({
      zone, bucket: options.bucket, key: stagingKey, name: `scw-backup-restore-${snap.id.slice(0, 12)}-${time}`,
      projectId: clients.profile.projectId, tags: [TAG, STAGING_TAG], size,
    }));
    const importedId = imported.id;
    await waitForStatus({
      resource: 'snapshot', id: importedId, wanted: 'the end of its import', fetch: () => block.getSnapshot({ zone, snapshotId: importedId }),
      status: (s) => s.status, done: ['available'], failed: ['error', 'deleted', 'deleting'],
      onFailed: (status) => new ImportFailedError(importedId, status, options.bucket, stagingKey),
    }, phaseWait(options.timeouts, 'import'));

    progress.phase('creating-volume', size);
    volume = await callScaleway(`create a volume from snapshot ${importedId}`, () => block.createVolume({
      zone, name: options.name ?? `${originalName}-restored-${time}`, perfIops, projectId: clients.profile.projectId,
      fromSnapshot: { snapshotId: importedId, size }, tags: options.tags ?? [TAG, 'scw-backup:restored'],
    }));
    const volumeId = volume.id;
    volume = await waitForStatus({
      resource: 'volume', id: volumeId, wanted: 'available', fetch: () => block.getVolume({ zone, volumeId }),
      status: (v) => v.status, done: ['available'], failed: ['error', 'deleted', 'deleting'],
    }, phaseWait(options.timeouts, 'volume'));

    if (options.attachToServerId) {
      const serverId = options.attachToServerId;
      progress.phase('attaching', size);
      await callOrNotFound('server', serverId, zone, `attach volume ${volumeId} to server ${serverId}`, () => instance.attachServerVolume({
        zone, serverId, volumeId, volumeType: 'sbs_volume',
      }));
      attachedTo = serverId;
    }
  } catch (err) {
    failure = { error: volume ? new RestoreIncompleteError(volume.id, zone, err) : err };
    if (volume) warn?.(`volume ${volume.id} was created and is left in place: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await source.close().catch(() => undefined);
  }

  if (stagingWritten) await cleanupStep(cleanup, `s3://${options.bucket}/${stagingKey}`, () => staging.delete(stagingKey), warn);
  if (imported) {
    const id = imported.id;
    await cleanupStep(cleanup, `snapshot ${id}`, () => callScaleway(`delete snapshot ${id}`, () => block.deleteSnapshot({ zone, snapshotId: id })), warn);
  }
  if (failure) throw failure.error;
  if (!volume || !imported) throw new Error('unreachable: restore finished without a volume');
  progress.bytes('done', plan.length, plan.length, 0, uploaded, true);
  return {
    volumeId: volume.id, volumeName: volume.name, zone, size: volume.size, attachedTo,
    importedSnapshotId: imported.id, stagingKey, bytesUploaded: uploaded, cleanup,
  };
}
