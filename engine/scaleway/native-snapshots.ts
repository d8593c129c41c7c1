/**
 * One shape over the two snapshot APIs a volume backup or restore goes through: Block Storage
 * snapshots (SBS volumes) and Instance snapshots (local `l_ssd` volumes). The flows in
 * export-backup.ts and import-restore.ts drive either; only these adapters know the calls. The
 * flow's AbortSignal ends their waits and keeps new resources from being started; `settle`, for
 * cleanup, waits without it.
 */
import { Blockv1 } from '@scaleway/sdk-block';
import { Instancev1 } from '@scaleway/sdk-instance';
import { STAGING_TAG, TAG, cleanupStep, type CleanupReport } from './common';
import type { ScalewayClients } from './config';
import { ExportFailedError, ImportFailedError } from './errors';
import { callOrNotFound } from './common';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

export interface NativeSnapshotInfo {
  id: string;
  name: string;
  status: string;
  tags: string[];
  createdAt?: Date;
}

export interface NativeSnapshots {
  /** `snapshot` (Block) or `instance snapshot` (local volume), for messages. */
  readonly label: string;
  /** Start a snapshot of the volume; its id (known before the wait, so a failed wait can clean up). */
  create(volumeId: string, name: string, tags: string[]): Promise<string>;
  waitCreated(snapshotId: string, timeouts?: FlowTimeouts): Promise<void>;
  /** Export to `bucket/key`; resolves once the object is complete. */
  exportTo(snapshotId: string, bucket: string, key: string, timeouts?: FlowTimeouts): Promise<void>;
  /**
   * Start importing `bucket/key` as a snapshot; its id. Block imports send no size (the QCOW2's
   * virtual size is the snapshot's; the volume is resized on creation); Instance imports of local
   * volumes send `size` (their volume takes the snapshot's size).
   */
  startImport(bucket: string, key: string, name: string, size: number, tags: string[]): Promise<string>;
  waitImported(snapshotId: string, bucket: string, key: string, timeouts?: FlowTimeouts): Promise<void>;
  delete(snapshotId: string): Promise<void>;
  /**
   * Cleanup: wait until the snapshot is out of a transient state (an export or import the flow
   * was stopped in; Scaleway refuses to delete it meanwhile), at most `timeouts.cleanup` (2 min).
   * A snapshot that is gone counts as settled.
   */
  settle(snapshotId: string, timeouts?: FlowTimeouts): Promise<void>;
  setTags(snapshotId: string, tags: string[]): Promise<void>;
  /** Snapshots carrying `tag`: of `volumeId`, or all of them in the zone. */
  listTagged(tag: string, volumeId?: string): Promise<NativeSnapshotInfo[]>;
  exists(snapshotId: string): Promise<boolean>;
}

/**
 * Statuses that end a wait for `available` with an error. Block's `locked` is one (the SDK's
 * SnapshotStatus and VolumeStatus have it, and it is not among their transient statuses): a locked
 * snapshot will not become available by waiting (docs/SCALEWAY.md, "Timeouts").
 */
const SNAPSHOT_FAILED = ['error', 'deleted', 'deleting', 'invalid_data', 'locked'];

/** Block Storage snapshots of an SBS volume; `signal` ends the flow's waits. */
export function blockSnapshots(clients: ScalewayClients, zone: string, signal?: AbortSignal): NativeSnapshots {
  const { block } = clients;
  const waitAvailable = (snapshotId: string, wanted: string, timeouts: FlowTimeouts | undefined, phase: 'snapshot' | 'export' | 'import', onFailed?: (status: string) => Error) =>
    waitForStatus({
      resource: 'snapshot', id: snapshotId, wanted, fetch: () => block.getSnapshot({ zone, snapshotId }),
      status: (s) => s.status, done: ['available'], failed: SNAPSHOT_FAILED, onFailed,
    }, phaseWait(timeouts, phase, signal));
  return {
    label: 'snapshot',
    create: async (volumeId, name, tags) => (await callScaleway(`snapshot volume ${volumeId}`, () => block.createSnapshot({ zone, volumeId, name, tags }), { signal })).id,
    waitCreated: async (snapshotId, timeouts) => {
      await waitAvailable(snapshotId, 'available', timeouts, 'snapshot');
    },
    async exportTo(snapshotId, bucket, key, timeouts) {
      await callScaleway(`export snapshot ${snapshotId} to s3://${bucket}/${key}`, () => block.exportSnapshotToObjectStorage({ zone, snapshotId, bucket, key }), { signal });
      // The key exists (empty) from the start of the export, on Scaleway as in the emulator: the
      // snapshot going back to `available` is what says the object is complete.
      await waitAvailable(snapshotId, 'the end of its export', timeouts, 'export', (status) => new ExportFailedError(snapshotId, status, bucket, key));
    },
    // `size` omitted: optional in the API (docs-content snapshot-import-export-feature.mdx: "If missing,
    // the size of the created snapshot is defaulted to the QCOW2's volume size"); what Scaleway does
    // with a size larger than the image is unverified, a volume larger than its snapshot is not.
    startImport: async (bucket, key, name, _size, tags) => (await callScaleway(`import s3://${bucket}/${key} as a snapshot`, () => block.importSnapshotFromObjectStorage({
      zone, bucket, key, name, projectId: clients.profile.projectId, tags,
    }), { signal })).id,
    waitImported: async (snapshotId, bucket, key, timeouts) => {
      await waitAvailable(snapshotId, 'the end of its import', timeouts, 'import', (status) => new ImportFailedError(snapshotId, status, bucket, key));
    },
    delete: (snapshotId) => callScaleway(`delete snapshot ${snapshotId}`, () => block.deleteSnapshot({ zone, snapshotId })),
    settle: (snapshotId, timeouts) => settle('snapshot', snapshotId, zone, () => block.getSnapshot({ zone, snapshotId }), (s) => s.status, Blockv1.SNAPSHOT_TRANSIENT_STATUSES, timeouts),
    setTags: async (snapshotId, tags) => {
      await callScaleway(`retag snapshot ${snapshotId}`, () => block.updateSnapshot({ zone, snapshotId, tags }));
    },
    async listTagged(tag, volumeId) {
      const list = await callScaleway(`list snapshots${volumeId ? ` of volume ${volumeId}` : ''} tagged ${tag}`, () => block.listSnapshots({ zone, volumeId, tags: [tag], includeDeleted: false }).all());
      return list.map((s) => ({ id: s.id, name: s.name, status: s.status, tags: s.tags, createdAt: s.createdAt }));
    },
    exists: (snapshotId) => existsOrNotFound('snapshot', snapshotId, zone, () => block.getSnapshot({ zone, snapshotId })),
  };
}

/** Instance API snapshots of a local (`l_ssd`) volume; `signal` ends the flow's waits. */
export function instanceSnapshots(clients: ScalewayClients, zone: string, signal?: AbortSignal): NativeSnapshots {
  const { instance } = clients;
  const waitAvailable = (snapshotId: string, wanted: string, timeouts: FlowTimeouts | undefined, phase: 'snapshot' | 'export' | 'import', onFailed?: (status: string) => Error) =>
    waitForStatus({
      resource: 'instance snapshot', id: snapshotId, wanted, fetch: async () => (await instance.getSnapshot({ zone, snapshotId })).snapshot,
      status: (s) => s?.state ?? 'missing', done: ['available'], failed: [...SNAPSHOT_FAILED, 'missing'], onFailed,
    }, phaseWait(timeouts, phase, signal));
  return {
    label: 'instance snapshot',
    async create(volumeId, name, tags) {
      const r = await callScaleway(`snapshot local volume ${volumeId}`, () => instance.createSnapshot({ zone, volumeId, name, tags, project: clients.profile.projectId }), { signal });
      const id = r.snapshot?.id;
      if (!id) throw new Error(`the Instance API created a snapshot of volume ${volumeId} without an id`);
      return id;
    },
    waitCreated: async (snapshotId, timeouts) => {
      await waitAvailable(snapshotId, 'available', timeouts, 'snapshot');
    },
    async exportTo(snapshotId, bucket, key, timeouts) {
      await callScaleway(`export instance snapshot ${snapshotId} to s3://${bucket}/${key}`, () => instance.exportSnapshot({ zone, snapshotId, bucket, key }), { signal });
      await waitAvailable(snapshotId, 'the end of its export', timeouts, 'export', (status) => new ExportFailedError(snapshotId, status, bucket, key));
    },
    async startImport(bucket, key, name, size, tags) {
      const r = await callScaleway(`import s3://${bucket}/${key} as an instance snapshot`, () => instance.createSnapshot({
        zone, bucket, key, name, size, tags, volumeType: 'l_ssd', project: clients.profile.projectId,
      }), { signal });
      const id = r.snapshot?.id;
      if (!id) throw new Error(`the Instance API imported s3://${bucket}/${key} without a snapshot id`);
      return id;
    },
    waitImported: async (snapshotId, bucket, key, timeouts) => {
      await waitAvailable(snapshotId, 'the end of its import', timeouts, 'import', (status) => new ImportFailedError(snapshotId, status, bucket, key));
    },
    delete: (snapshotId) => callScaleway(`delete instance snapshot ${snapshotId}`, () => instance.deleteSnapshot({ zone, snapshotId })),
    settle: (snapshotId, timeouts) => settle('instance snapshot', snapshotId, zone, async () => (await instance.getSnapshot({ zone, snapshotId })).snapshot, (s) => s?.state ?? 'missing', Instancev1.SNAPSHOT_TRANSIENT_STATUSES, timeouts),
    setTags: async (snapshotId, tags) => {
      await callScaleway(`retag instance snapshot ${snapshotId}`, () => instance.updateSnapshot({ zone, snapshotId, tags }));
    },
    async listTagged(tag, volumeId) {
      const list = await callScaleway(`list instance snapshots${volumeId ? ` of volume ${volumeId}` : ''} tagged ${tag}`, () => instance.listSnapshots({ zone, baseVolumeId: volumeId, tags: tag }).all());
      return list.filter((s) => s.tags.includes(tag)).map((s) => ({ id: s.id, name: s.name, status: s.state, tags: s.tags, createdAt: s.creationDate }));
    },
    exists: (snapshotId) => existsOrNotFound('instance snapshot', snapshotId, zone, () => instance.getSnapshot({ zone, snapshotId })),
  };
}

/**
 * Wait, without the flow's signal, until a resource is out of its transient statuses (or gone), at
 * most the cleanup wait: then it can be deleted. Shared with the volume cleanup of restores.
 */
export async function settle<T>(
  resource: string, id: string, zone: string, fetch: () => Promise<T>, status: (t: T) => string, transient: readonly string[], timeouts?: FlowTimeouts,
): Promise<void> {
  try {
    await waitForStatus({
      resource, id, wanted: 'the end of its current operation, to remove it', fetch: () => callOrNotFound(resource, id, zone, `read ${resource} ${id}`, fetch),
      status, done: [], pending: transient, failed: [],
    }, phaseWait(timeouts, 'cleanup'));
  } catch (err) {
    if (err instanceof Error && (err as { code?: string }).code === 'NOT_FOUND') return;
    throw err;
  }
}

async function existsOrNotFound(resource: string, id: string, zone: string, fetch: () => Promise<unknown>): Promise<boolean> {
  try {
    await callOrNotFound(resource, id, zone, `read ${resource} ${id}`, fetch);
    return true;
  } catch (err) {
    if (err instanceof Error && (err as { code?: string }).code === 'NOT_FOUND') return false;
    throw err;
  }
}

/** Tags of a snapshot kept after a backup: without the staging tag, no later run removes it. */
export const KEPT_TAGS = [TAG, 'scw-backup:kept'];

/**
 * The end of a backup's snapshot: kept (retagged KEPT_TAGS) when asked and the backup worked, else
 * deleted; either outcome goes into `cleanup`, never hidden. True when kept.
 */
export async function keepOrDelete(
  snapshots: NativeSnapshots, id: string, o: { keep: boolean; cleanup: CleanupReport; warn?: (message: string) => void },
): Promise<boolean> {
  if (!o.keep) {
    await cleanupStep(o.cleanup, `${snapshots.label} ${id}`, () => snapshots.delete(id), o.warn);
    return false;
  }
  await snapshots.setTags(id, KEPT_TAGS).catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    o.cleanup.failed.push({ what: `tags of ${snapshots.label} ${id}`, error: msg });
    o.warn?.(`kept ${snapshots.label} ${id} still carries the tag ${STAGING_TAG} and a later run may remove it: ${msg}`);
  });
  return true;
}
