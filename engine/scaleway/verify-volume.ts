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
import { DEFAULT_STAGING_PREFIX, STAGING_TAG, TAG, checkId, checkPrefix, cleanupStep, interruptedWith, newCleanupReport, stamp, type CleanupReport } from './common';
import { checkZone, type ScalewayClients } from './config';
import { attachCleanup, type BackupStaging } from './export-backup';
import { checkTransferable } from './limits';
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
  /** Largest volume Scaleway exports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /** Stop at the next safe point, remove the snapshot and object, throw an InterruptedError. */
  signal?: AbortSignal;
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
  checkTransferable(`volume ${volumeId} in ${zone}`, zone, o.snapshot.size, 'verify', o.transferLimit);
  const snapshots = blockSnapshots(clients, zone, o.signal);
  const cleanup = newCleanupReport();
  let nativeId: string | undefined;
  let key: string | undefined;
  let result: Omit<VerifyVolumeResult, 'cleanup'> | undefined;
  let failure: { error: unknown } | undefined;
  try {
    nativeId = await snapshots.create(volumeId, `scw-backup-verify-${volumeId}-${stamp(now())}`, [TAG, STAGING_TAG]);
    await snapshots.waitCreated(nativeId, o.timeouts);
    key = `${prefix}/verify/${volumeId}/${nativeId}.qcow2`;
    await snapshots.exportTo(nativeId, o.bucket, key, o.timeouts);
    const image = await openQcow2(await S3ObjectReader.open(staging, key, { location: `scaleway-block://${zone}/${volumeId}`, signal: o.signal }), { onWarning: o.onWarning });
    try {
      result = await compareWithSnapshot(repo, o.snapshot, image, { signal: o.signal });
    } finally {
      await image.close();
    }
  } catch (err) {
    failure = { error: err };
  }
  // Cleanup whatever happened (an export the run was stopped in is waited out first), then report.
  if (nativeId && failure) await snapshots.settle(nativeId, o.timeouts).catch(() => undefined);
  if (key) {
    const k = key;
    await cleanupStep(cleanup, `s3://${o.bucket}/${k}`, () => staging.delete(k), o.onWarning);
  }
  if (nativeId) {
    const id = nativeId;
    await cleanupStep(cleanup, `snapshot ${id}`, () => snapshots.delete(id), o.onWarning);
  }
  if (failure) throw o.signal?.aborted ? interruptedWith(o.signal, failure.error, cleanup) : attachCleanup(failure.error, cleanup);
  if (!result) throw new Error('unreachable: verification finished without a result');
  return { ...result, cleanup };
}
