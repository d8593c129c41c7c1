/**
 * Restore a stored disk as a new local (`l_ssd`) volume: import-restore.ts does the flow, with an
 * Instance API snapshot imported from the bucket, and the volume created from it. A local volume
 * lives on one hypervisor: it is attached when a server is created with it, or to a stopped server.
 */
import { Instancev1 } from '@scaleway/sdk-instance';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { DEFAULT_STAGING_PREFIX, TAG, checkPrefix } from './common';
import { checkZone, type ScalewayClients } from './config';
import { restoreThroughImport, type ImportRestoreResult, type RestoreStaging } from './import-restore';
import { instanceSnapshots, settle } from './native-snapshots';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';
import type { ProgressCallback } from '../progress';

export interface LocalRestoreOptions {
  snapshot: Snapshot;
  zone: string;
  bucket: string;
  prefix?: string;
  name?: string;
  tags?: string[];
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  now?: () => number;
  /** Largest volume Scaleway imports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /** As for Block volumes (block-restore.ts). */
  signal?: AbortSignal;
}

export async function restoreLocalVolume(repo: Repository, clients: ScalewayClients, staging: RestoreStaging, options: LocalRestoreOptions): Promise<ImportRestoreResult> {
  const zone = checkZone(options.zone);
  const prefix = checkPrefix(options.prefix ?? DEFAULT_STAGING_PREFIX);
  const { instance } = clients;
  const snap = options.snapshot;
  const originalName = typeof snap.source.volumeName === 'string' ? snap.source.volumeName : `snapshot-${snap.id.slice(0, 12)}`;
  const signal = options.signal;
  return restoreThroughImport(repo, instanceSnapshots(clients, zone, signal), staging, {
    snapshot: snap, zone, bucket: options.bucket, prefix, onProgress: options.onProgress, onWarning: options.onWarning,
    timeouts: options.timeouts, now: options.now ?? Date.now, transferLimit: options.transferLimit, signal,
    async createVolume(importedId, _size, time, onCreated) {
      const created = await callScaleway(`create a local volume from instance snapshot ${importedId}`, () => instance.createVolume({
        zone, name: options.name ?? `${originalName}-restored-${time}`, volumeType: 'l_ssd', baseSnapshot: importedId,
        project: clients.profile.projectId, tags: options.tags ?? [TAG, 'scw-backup:restored'],
      }), { signal });
      const volumeId = created.volume?.id;
      if (!volumeId) throw new Error(`the Instance API created a volume from snapshot ${importedId} without an id`);
      onCreated(volumeId);
      const v = await waitForStatus({
        resource: 'local volume', id: volumeId, wanted: 'available', fetch: async () => (await instance.getVolume({ zone, volumeId })).volume,
        status: (x) => x?.state ?? 'missing', done: ['available'], failed: ['error', 'missing'],
      }, phaseWait(options.timeouts, 'volume', signal));
      return { id: volumeId, name: v?.name ?? '', size: v?.size ?? 0 };
    },
    async removeVolume(volumeId) {
      await settle('local volume', volumeId, zone, async () => (await instance.getVolume({ zone, volumeId })).volume, (v) => v?.state ?? 'missing',
        Instancev1.VOLUME_TRANSIENT_STATUSES, options.timeouts);
      await callScaleway(`delete local volume ${volumeId}`, () => instance.deleteVolume({ zone, volumeId }));
    },
  });
}
