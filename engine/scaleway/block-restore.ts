/**
 * Restore a stored snapshot as a new Scaleway Block Storage volume (DESIGN.md "Restore"): stream a
 * QCOW2 of it into the staging bucket (multipart, no temporary file), import that as a Scaleway
 * snapshot, create the volume from it, optionally attach it to a server, and remove the staging
 * object and the intermediate snapshot, also on failure; or write it onto a new volume attached to
 * this Instance (attach-restore.ts): via.ts chooses. The original volume is never touched.
 */
import { Blockv1 } from '@scaleway/sdk-block';
import { InvalidInputError } from '../errors';
import type { ProgressCallback } from '../progress';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { DEFAULT_STAGING_PREFIX, FlowProgress, TAG, callOrNotFound, checkId, checkPrefix, stamp, type CleanupReport } from './common';
import { checkZone, type ScalewayClients } from './config';
import { restoreThroughAttach } from './attach-restore';
import type { AttachOptions } from './attach';
import { restoreThroughImport, type RestoreStaging } from './import-restore';
import { choosePath, type Via } from './via';
import { blockSnapshots, settle } from './native-snapshots';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

export { RestoreIncompleteError, type RestoreStaging } from './import-restore';

/** Block VolumeStatus values that end a wait for `available` with an error (`locked` included, as for snapshots). */
const VOLUME_FAILED = ['error', 'deleted', 'deleting', 'locked'];


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
  /**
   * In-place swap, with attachToServerId: detach this volume from the server (kept, never
   * deleted) before attaching the restored one. Without it the original volume is never touched.
   */
  replaceVolumeId?: string;
  /** Phases: uploading (with byte counts), importing, creating-volume, attaching, done. */
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  now?: () => number;
  /** Largest volume Scaleway imports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /**
   * SIGINT/SIGTERM: stop at the next safe point before the attach, remove what this restore created
   * (staging object, imported snapshot, the new volume) and throw an InterruptedError saying so.
   */
  signal?: AbortSignal;
  /** The data path (via.ts): `export` (import), `attach`, or `auto` (default: import unless the volume is over 1 TB and this is an Instance of its zone). */
  via?: Via;
  /** For the attach path: metadata service, device folder (attach.ts). */
  attach?: AttachOptions;
}

export interface BlockRestoreResult {
  volumeId: string;
  volumeName: string;
  zone: string;
  size: number;
  attachedTo?: string;
  /** The volume detached by an in-place swap (kept). */
  replaced?: string;
  /** Which data path it took. */
  via: 'export' | 'attach';
  /** The intermediate (imported) Scaleway snapshot, removed by the cleanup (export path). */
  importedSnapshotId?: string;
  stagingKey?: string;
  /** The QCOW2 image's bytes sent to the bucket (export path), or the disk's data bytes written onto the device (attach path). */
  bytesUploaded: number;
  cleanup: CleanupReport;
  /** Removal of earlier restores' leftovers. */
  leftovers: CleanupReport;
}

export async function restoreBlockVolume(repo: Repository, clients: ScalewayClients, staging: RestoreStaging, options: BlockRestoreOptions): Promise<BlockRestoreResult> {
  const zone = checkZone(options.zone);
  const prefix = checkPrefix(options.prefix ?? DEFAULT_STAGING_PREFIX);
  if (options.attachToServerId) checkId(options.attachToServerId, 'server id');
  if (options.replaceVolumeId !== undefined) {
    checkId(options.replaceVolumeId, 'volume to replace');
    if (!options.attachToServerId) throw new InvalidInputError('volume to replace', 'an in-place swap needs the server to attach the restored volume to');
  }
  const { block, instance } = clients;
  const progress = new FlowProgress(options.onProgress);
  const snap = options.snapshot;
  const src = snap.source;
  const originalName = typeof src.volumeName === 'string' ? src.volumeName : `snapshot-${snap.id.slice(0, 12)}`;
  const perfIops = options.perfIops ?? (typeof src.perfIops === 'number' ? src.perfIops : undefined);
  let attachedTo: string | undefined;
  let replaced: string | undefined;
  const signal = options.signal;
  const originalSize = typeof src.volumeSize === 'number' ? src.volumeSize : snap.size;
  const size = Math.max(options.size ?? originalSize, snap.size);
  const path = await choosePath(options.via, {
    size, zone, what: `the volume of snapshot ${snap.id.slice(0, 12)}`, action: 'restore', limit: options.transferLimit, metadata: options.attach,
  });
  if (path === 'attach') {
    if (options.size !== undefined && options.size < snap.size) {
      throw new InvalidInputError('size', `${options.size} bytes is smaller than the ${snap.size}-byte disk of snapshot ${snap.id.slice(0, 12)}`);
    }
    const r = await restoreThroughAttach(repo, clients, {
      snapshot: snap, zone, size, name: options.name ?? `${originalName}-restored-${stamp((options.now ?? Date.now)())}`, perfIops,
      tags: options.tags ?? [TAG, 'scw-backup:restored'], attachToServerId: options.attachToServerId, replaceVolumeId: options.replaceVolumeId,
      onProgress: options.onProgress, onWarning: options.onWarning, timeouts: options.timeouts, signal, attach: options.attach,
    });
    return {
      volumeId: r.volumeId, volumeName: r.volumeName, zone, size: r.size, attachedTo: r.attachedTo, replaced: r.replaced, via: 'attach',
      bytesUploaded: r.bytesWritten, cleanup: r.cleanup, leftovers: { removed: [], failed: [] },
    };
  }
  const r = await restoreThroughImport(repo, blockSnapshots(clients, zone, signal), staging, {
    snapshot: snap, zone, bucket: options.bucket, prefix, size: options.size, onWarning: options.onWarning, timeouts: options.timeouts,
    now: options.now ?? Date.now, transferLimit: options.transferLimit, signal,
    onProgress: options.onProgress,
    async createVolume(importedId, size, time, onCreated) {
      // The import carries the disk's own size; the volume is made `size` bytes (the original's) here.
      const created = await callScaleway(`create a volume from snapshot ${importedId}`, () => block.createVolume({
        zone, name: options.name ?? `${originalName}-restored-${time}`, perfIops, projectId: clients.profile.projectId,
        fromSnapshot: { snapshotId: importedId, size }, tags: options.tags ?? [TAG, 'scw-backup:restored'],
      }), { signal });
      const volumeId = created.id;
      onCreated(volumeId);
      const v = await waitForStatus({
        resource: 'volume', id: volumeId, wanted: 'available', fetch: () => block.getVolume({ zone, volumeId }),
        status: (x) => x.status, done: ['available'], failed: VOLUME_FAILED,
      }, phaseWait(options.timeouts, 'volume', signal));
      return { id: v.id, name: v.name, size: v.size };
    },
    async removeVolume(volumeId) {
      await settle('volume', volumeId, zone, () => block.getVolume({ zone, volumeId }), (v) => v.status, Blockv1.VOLUME_TRANSIENT_STATUSES, options.timeouts);
      await callScaleway(`delete volume ${volumeId}`, () => block.deleteVolume({ zone, volumeId }));
    },
    async finish(volume) {
      if (!options.attachToServerId) return;
      const serverId = options.attachToServerId;
      progress.phase('attaching', volume.size);
      if (options.replaceVolumeId) {
        const old = options.replaceVolumeId;
        await callOrNotFound('server', serverId, zone, `detach volume ${old} from server ${serverId}`, () => instance.detachServerVolume({ zone, serverId, volumeId: old }));
        replaced = old;
      }
      await callOrNotFound('server', serverId, zone, `attach volume ${volume.id} to server ${serverId}`, () => instance.attachServerVolume({
        zone, serverId, volumeId: volume.id, volumeType: 'sbs_volume',
      }));
      attachedTo = serverId;
    },
  });
  return {
    volumeId: r.volume.id, volumeName: r.volume.name, zone, size: r.volume.size, attachedTo, replaced, via: 'export',
    importedSnapshotId: r.importedSnapshotId, stagingKey: r.stagingKey, bytesUploaded: r.bytesUploaded, cleanup: r.cleanup, leftovers: r.leftovers,
  };
}
