/**
 * Back up a Scaleway Block Storage volume (DESIGN.md "Backup of a Scaleway Block Storage volume")
 * through the staging bucket (export-backup.ts, with Block Storage snapshots), or by attaching it to
 * this Instance (attach-backup.ts): via.ts chooses.
 */
import type { ProgressCallback } from '../progress';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { DEFAULT_STAGING_PREFIX, DEFAULT_STALE_AFTER_MS, callOrNotFound, checkId, checkPrefix, type CleanupReport } from './common';
import { checkZone, type ScalewayClients } from './config';
import { WrongProjectError } from './errors';
import { backupThroughAttach } from './attach-backup';
import type { AttachOptions } from './attach';
import { backupThroughExport, type BackupStaging } from './export-backup';
import { choosePath, type Via } from './via';
import { blockSnapshots } from './native-snapshots';
import type { FlowTimeouts } from './wait';

export type { BackupStaging } from './export-backup';

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
  /** More source fields for the manifest (a server's volume: its group, index, boot flag). */
  extraDetails?: Record<string, string | number | boolean>;
  /** The manifest's time (default: when the backup ends). */
  time?: Date;
  /** Largest volume Scaleway exports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /**
   * SIGINT/SIGTERM: stop at the next safe point, remove what this backup created (snapshot, staging
   * object) and throw an InterruptedError saying what was removed.
   */
  signal?: AbortSignal;
  /** The data path (via.ts): `export`, `attach`, or `auto` (default: export unless the volume is over 1 TB and this is an Instance of its zone). */
  via?: Via;
  /** For the attach path: metadata service, device folder (attach.ts). */
  attach?: AttachOptions;
}

export interface BlockBackupResult {
  snapshot: Snapshot;
  volume: { id: string; name: string; size: number; zone: string; projectId: string };
  nativeSnapshotId: string;
  nativeSnapshotKept: boolean;
  /** Which data path it took. */
  via: 'export' | 'attach';
  /** The export's key in the staging bucket (export path). */
  stagingKey?: string;
  /** The temporary volume attached to this Instance, and removed (attach path). */
  attachedVolumeId?: string;
  /** Removal of this run's staging object and snapshot (and temporary volume). */
  cleanup: CleanupReport;
  /** Removal of earlier runs' leftovers. */
  leftovers: CleanupReport;
}

export async function backupBlockVolume(repo: Repository, clients: ScalewayClients, staging: BackupStaging, options: BlockBackupOptions): Promise<BlockBackupResult> {
  const zone = checkZone(options.zone);
  const volumeId = checkId(options.volumeId, 'volume id');
  const prefix = checkPrefix(options.prefix ?? DEFAULT_STAGING_PREFIX);
  const volume = await callOrNotFound('volume', volumeId, zone, `read volume ${volumeId} in ${zone}`, () => clients.block.getVolume({ zone, volumeId }));
  if (volume.projectId !== clients.profile.projectId) throw new WrongProjectError('volume', volumeId, volume.projectId, clients.profile.projectId);
  const path = await choosePath(options.via, {
    size: volume.size, zone, what: `volume ${volumeId} in ${zone}`, action: 'back up', limit: options.transferLimit, metadata: options.attach,
  });
  const common = {
    zone, volumeId, volumeSize: volume.size, location: `scaleway-block://${zone}/${volumeId}`,
    sourceDetails: {
      kind: 'scaleway-block', zone, projectId: volume.projectId, volumeId, volumeName: volume.name, volumeSize: volume.size,
      volumeType: volume.type, ...(volume.specs?.perfIops !== undefined ? { perfIops: volume.specs.perfIops } : {}),
      ...(volume.specs?.class ? { storageClass: volume.specs.class } : {}),
      volumeTags: volume.tags.join(','),
      ...options.extraDetails,
    },
    tags: options.tags, keepNativeSnapshot: options.keepNativeSnapshot, onProgress: options.onProgress, onWarning: options.onWarning,
    timeouts: options.timeouts, staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now: options.now ?? Date.now,
    hostname: options.hostname, workers: options.workers, time: options.time, signal: options.signal,
  };
  const about = { id: volume.id, name: volume.name, size: volume.size, zone, projectId: volume.projectId };
  if (path === 'attach') {
    const r = await backupThroughAttach(repo, clients, { ...common, attach: options.attach });
    return { ...r, via: 'attach', volume: about };
  }
  const r = await backupThroughExport(repo, blockSnapshots(clients, zone, options.signal), staging, {
    ...common, bucket: options.bucket, prefix, transferLimit: options.transferLimit,
  });
  return { ...r, via: 'export', volume: about };
}
