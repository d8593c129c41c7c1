/**
 * Back up a local (`l_ssd`) volume of an Instance through the staging bucket: export-backup.ts does
 * the flow, with Instance API snapshots (local volumes have no Block Storage snapshots).
 */
import { InvalidInputError, NotFoundError } from '../errors';
import type { Repository } from '../store/repository';
import type { BlockBackupOptions, BlockBackupResult } from './block-backup';
import { DEFAULT_STAGING_PREFIX, DEFAULT_STALE_AFTER_MS, callOrNotFound, checkId, checkPrefix } from './common';
import { checkZone, type ScalewayClients } from './config';
import { WrongProjectError } from './errors';
import { backupThroughExport, type BackupStaging } from './export-backup';
import { instanceSnapshots } from './native-snapshots';

export async function backupLocalVolume(repo: Repository, clients: ScalewayClients, staging: BackupStaging, options: BlockBackupOptions): Promise<BlockBackupResult> {
  const zone = checkZone(options.zone);
  const volumeId = checkId(options.volumeId, 'volume id');
  const prefix = checkPrefix(options.prefix ?? DEFAULT_STAGING_PREFIX);
  const { volume } = await callOrNotFound('local volume', volumeId, zone, `read local volume ${volumeId} in ${zone}`, () => clients.instance.getVolume({ zone, volumeId }));
  if (!volume) throw new NotFoundError(`local volume ${volumeId} not found in ${zone}`);
  if (volume.volumeType !== 'l_ssd') throw new InvalidInputError('volume id', `${volumeId} is a ${volume.volumeType} volume, not a local (l_ssd) one`);
  if (volume.project !== clients.profile.projectId) throw new WrongProjectError('local volume', volumeId, volume.project, clients.profile.projectId);
  const r = await backupThroughExport(repo, instanceSnapshots(clients, zone, options.signal), staging, {
    zone, volumeId, volumeSize: volume.size, bucket: options.bucket, prefix, location: `scaleway-local://${zone}/${volumeId}`,
    sourceDetails: {
      kind: 'scaleway-local', zone, projectId: volume.project, volumeId, volumeName: volume.name, volumeSize: volume.size,
      volumeType: 'l_ssd', volumeTags: volume.tags.join(','), ...options.extraDetails,
    },
    tags: options.tags, keepNativeSnapshot: options.keepNativeSnapshot, onProgress: options.onProgress, onWarning: options.onWarning,
    timeouts: options.timeouts, staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now: options.now ?? Date.now,
    hostname: options.hostname, workers: options.workers, time: options.time, transferLimit: options.transferLimit, signal: options.signal,
  });
  return { ...r, via: 'export', volume: { id: volume.id, name: volume.name, size: volume.size, zone, projectId: volume.project } };
}
