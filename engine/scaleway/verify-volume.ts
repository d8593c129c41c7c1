/**
 * Check a Block Storage volume against a stored snapshot, byte for byte, without attaching it to
 * anything (a restore drill's proof): snapshot the volume, export it to the staging bucket, read
 * the export with ranged GETs and compare every data chunk's keyed hash with the snapshot's disk
 * map, and every hole with zeros. The temporary snapshot and object are removed, also on failure.
 */
import { openQcow2 } from '../qcow2';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { compareWithSnapshot, type DiskComparison } from '../verify-disk';
import { DEFAULT_STAGING_PREFIX, STAGING_TAG, TAG, checkId, checkPrefix, cleanupStep, newCleanupReport, stamp, type CleanupReport } from './common';
import { checkZone, type ScalewayClients } from './config';
import { attachCleanup, type BackupStaging } from './export-backup';
import { blockSnapshots } from './native-snapshots';
import { S3ObjectReader } from './s3-object-reader';
import type { FlowTimeouts } from './wait';

export interface VerifyVolumeOptions {
  zone: string;
  volumeId: string;
  snapshot: Snapshot;
  bucket: string;
  prefix?: string;
  timeouts?: FlowTimeouts;
  now?: () => number;
  onWarning?: (message: string) => void;
}

export interface VerifyVolumeResult extends DiskComparison {
  cleanup: CleanupReport;
}

export { compareWithSnapshot } from '../verify-disk';

export async function verifyVolume(repo: Repository, clients: ScalewayClients, staging: BackupStaging, o: VerifyVolumeOptions): Promise<VerifyVolumeResult> {
  const zone = checkZone(o.zone);
  const volumeId = checkId(o.volumeId, 'volume id');
  const prefix = checkPrefix(o.prefix ?? DEFAULT_STAGING_PREFIX);
  const now = o.now ?? Date.now;
  const snapshots = blockSnapshots(clients, zone);
  const cleanup = newCleanupReport();
  let nativeId: string | undefined;
  let key: string | undefined;
  try {
    nativeId = await snapshots.create(volumeId, `scw-backup-verify-${volumeId}-${stamp(now())}`, [TAG, STAGING_TAG]);
    await snapshots.waitCreated(nativeId, o.timeouts);
    key = `${prefix}/verify/${volumeId}/${nativeId}.qcow2`;
    await snapshots.exportTo(nativeId, o.bucket, key, o.timeouts);
    const image = await openQcow2(await S3ObjectReader.open(staging, key, { location: `scaleway-block://${zone}/${volumeId}` }), { onWarning: o.onWarning });
    try {
      return { ...(await compareWithSnapshot(repo, o.snapshot, image)), cleanup };
    } finally {
      await image.close();
    }
  } catch (err) {
    throw attachCleanup(err, cleanup);
  } finally {
    if (key) {
      const k = key;
      await cleanupStep(cleanup, `s3://${o.bucket}/${k}`, () => staging.delete(k), o.onWarning);
    }
    if (nativeId) {
      const id = nativeId;
      await cleanupStep(cleanup, `snapshot ${id}`, () => snapshots.delete(id), o.onWarning);
    }
  }
}
