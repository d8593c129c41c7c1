/**
 * Backup of a Block Storage volume by direct attach, for volumes of any size (Block Storage goes to
 * 10 TB, the export to 1 TB) and without the export's conversion and staging copy: snapshot the
 * volume, create a temporary volume from the snapshot, attach it to this Instance (attach.ts), read
 * its block device into the store (read-only, every byte: a device tells no holes, zero runs still
 * become holes), then detach and delete the temporary volume and (unless kept) the snapshot: on
 * success, on failure and when stopped (SIGINT, SIGTERM).
 */
import { backupImage } from '../backup';
import { RawFileSource } from '../source/raw-file';
import { FileRangeReader } from '../source/range-reader';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { attachAndWait, detachAndWait, removeVolume, thisInstance, type AttachOptions } from './attach';
import { FlowProgress, STAGING_TAG, TAG, cleanupStep, interruptedWith, newCleanupReport, stamp, type CleanupReport } from './common';
import type { ScalewayClients } from './config';
import { attachCleanup } from './export-backup';
import { blockSnapshots, keepOrDelete } from './native-snapshots';
import { callScaleway, phaseWait, waitForStatus } from './wait';
import type { ExportBackupOptions } from './export-backup';

export type AttachBackupOptions = Omit<ExportBackupOptions, 'bucket' | 'prefix' | 'transferLimit'> & { attach?: AttachOptions };

/** Name prefix of the temporary volumes of this path (a later run may remove them as leftovers). */
const TEMP_NAME = 'scw-backup-attach-';

export interface AttachBackupResult {
  snapshot: Snapshot;
  nativeSnapshotId: string;
  nativeSnapshotKept: boolean;
  /** The temporary volume that was attached to this Instance, and removed. */
  attachedVolumeId: string;
  serverId: string;
  cleanup: CleanupReport;
  /** Removal of what earlier runs that died left: temporary volumes (detached from this Instance first) and snapshots. */
  leftovers: CleanupReport;
}

export async function backupThroughAttach(repo: Repository, clients: ScalewayClients, o: AttachBackupOptions): Promise<AttachBackupResult> {
  const { zone, volumeId, signal } = o;
  const me = await thisInstance(zone, o.attach);
  signal?.throwIfAborted();
  const snapshots = blockSnapshots(clients, zone, signal);
  const progress = new FlowProgress(o.onProgress);
  const warn = o.onWarning;
  const leftovers = await removeLeftovers(clients, zone, volumeId, me.serverId, o);
  const cleanup = newCleanupReport();
  const time = stamp(o.now());
  let nativeId: string | undefined;
  let tempId: string | undefined;
  let attached = false;
  let result: Snapshot | undefined;
  let failure: { error: unknown } | undefined;
  try {
    progress.phase('snapshotting', o.volumeSize);
    nativeId = await snapshots.create(volumeId, `scw-backup-${volumeId}-${time}`, [TAG, STAGING_TAG]);
    const snapshotId = nativeId;
    await snapshots.waitCreated(snapshotId, o.timeouts);

    progress.phase('attaching', o.volumeSize);
    const created = await callScaleway(`create a volume from snapshot ${snapshotId}`, () => clients.block.createVolume({
      zone, name: `${TEMP_NAME}${volumeId}-${time}`, projectId: clients.profile.projectId, fromSnapshot: { snapshotId }, tags: [TAG, STAGING_TAG],
    }), { signal });
    tempId = created.id;
    const temp = tempId;
    await waitForStatus({
      resource: 'volume', id: temp, wanted: 'available', fetch: () => clients.block.getVolume({ zone, volumeId: temp }),
      status: (v) => v.status, done: ['available'], failed: ['error', 'locked', 'deleted', 'deleting'],
    }, phaseWait(o.timeouts, 'volume', signal));
    attached = true; // an attach whose answer is lost may still have attached it: detach is harmless
    const device = await attachAndWait(clients, zone, me.serverId, temp, { ...o.attach, signal });

    progress.phase('reading', o.volumeSize);
    const source = RawFileSource.fromReader(await FileRangeReader.open(device, { location: o.location }), 'scaleway-attach');
    try {
      result = await backupImage(repo, source, {
        tags: o.tags, hostname: o.hostname, workers: o.workers, time: o.time, signal, onWarning: warn,
        sourceDetails: { ...o.sourceDetails, via: 'attach', ...(o.keepNativeSnapshot ? { nativeSnapshotId: snapshotId } : {}) },
        onProgress: (p) => progress.bytes('reading', p.bytesDone, p.bytesTotal, p.bytesNew, p.bytesStored),
      });
    } finally {
      await source.close();
    }
  } catch (err) {
    failure = { error: err };
  }

  // Cleanup whatever happened: the temporary volume off this Instance and deleted, the snapshot deleted.
  if (tempId) {
    const id = tempId;
    const serverId = me.serverId;
    await cleanupStep(cleanup, `volume ${id}`, async () => {
      if (attached) await detachAndWait(clients, zone, serverId, id, o.timeouts);
      await removeVolume(clients, zone, id, o.timeouts);
    }, warn);
  }
  if (nativeId && failure) await snapshots.settle(nativeId, o.timeouts).catch(() => undefined); // a failure shows in the delete
  const kept = nativeId ? await keepOrDelete(snapshots, nativeId, { keep: !!o.keepNativeSnapshot && !failure, cleanup, warn }) : false;
  if (failure) throw signal?.aborted ? interruptedWith(signal, failure.error, cleanup) : attachCleanup(failure.error, cleanup);
  if (!result || !nativeId || !tempId) throw new Error('unreachable: backup finished without a snapshot');
  progress.bytes('done', o.volumeSize, o.volumeSize, result.stats.bytesNew, result.stats.bytesStored, true);
  return { snapshot: result, nativeSnapshotId: nativeId, nativeSnapshotKept: kept, attachedVolumeId: tempId, serverId: me.serverId, cleanup, leftovers };
}

/**
 * What runs of this path that died left for this volume, once older than `staleAfterMs` (a younger
 * one may belong to a run still going): temporary volumes (detached from this Instance first; one
 * attached elsewhere is not ours to judge) and `scw-backup:staging` snapshots.
 */
async function removeLeftovers(clients: ScalewayClients, zone: string, volumeId: string, serverId: string, o: AttachBackupOptions): Promise<CleanupReport> {
  const report = newCleanupReport();
  const now = o.now();
  const stale = (d: Date | undefined): boolean => d !== undefined && now - d.getTime() >= o.staleAfterMs;
  const volumes = await callScaleway(`list volumes tagged ${STAGING_TAG}`, () => clients.block.listVolumes({ zone, tags: [STAGING_TAG], includeDeleted: false }).all());
  for (const v of volumes) {
    if (!v.name.startsWith(`${TEMP_NAME}${volumeId}-`) || !stale(v.createdAt)) continue;
    const attachedTo = v.references.find((r) => r.productResourceType === 'instance_server')?.productResourceId;
    if (attachedTo && attachedTo !== serverId) continue;
    await cleanupStep(report, `volume ${v.id}`, async () => {
      if (attachedTo) await detachAndWait(clients, zone, serverId, v.id, o.timeouts);
      await removeVolume(clients, zone, v.id, o.timeouts);
    }, o.onWarning);
  }
  const snapshots = blockSnapshots(clients, zone);
  for (const s of await snapshots.listTagged(STAGING_TAG, volumeId)) {
    if (s.status === 'exporting' || !stale(s.createdAt)) continue;
    await cleanupStep(report, `snapshot ${s.id}`, () => snapshots.delete(s.id), o.onWarning);
  }
  return report;
}
