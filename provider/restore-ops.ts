/**
 * What a Restore resource does (docs/PULUMI.md): restore the latest (or a given) snapshot of a
 * BackupSource as a new volume, optionally attached, or an Instance group as a new server. Plain
 * async functions over plain data, called by the dynamic provider and by tests.
 *
 * The dynamic providers load this module by package name (scw-backup/provider/restore-ops); destroy
 * runs the state's provider text, whichever version wrote it: `deleteRestored` keeps its name and shape.
 */
import './plugin-process';
import { BackupError, NotFoundError, findSnapshot, type DrillRecord, type Snapshot } from '../engine';
import type { Repository } from '../engine';
import { withScaleway, withStore } from './connection';
import type { ConnectionOverrides } from './connection-types';
import { sourceLocation, type BackupSourceInputs } from './source-inputs';
import { isUnknown, knownChanges, unknownKeys } from './unknowns';

export interface RestoreInputs {
  source: Pick<BackupSourceInputs, 'kind' | 'zone' | 'resourceId' | 'bucket' | 'stagingPrefix' | 'store' | 'scaleway'>;
  /** `latest` (default) or a snapshot id or unique prefix. */
  snapshot?: string;
  /** Volume: name of the new volume; Instance: name of the new server (required). */
  name?: string;
  /** Volume: attach the new volume to this server. */
  attachTo?: string;
  /** Delete what this restore created when the resource is deleted (default false: keep it). */
  deleteOnDestroy?: boolean;
}

export interface RestoreOutputs extends RestoreInputs {
  snapshotId: string;
  volumeIds: string[];
  serverId?: string;
  /** Wall-clock time of the restore: the measured RTO. */
  durationMs: number;
}

/** The source's identity (kind, zone, id), or the unknown value when a preview does not know `source` yet. */
function sourceIdentity(source: unknown): unknown {
  if (isUnknown(source)) return source;
  const s = source as Partial<RestoreInputs['source']> | undefined;
  return { kind: s?.kind, zone: s?.zone, resourceId: s?.resourceId };
}

/**
 * Diff of a restore or a drill, without the network. A restore happens once: another snapshot, name,
 * target, run or source (known to change) is a new one; anything else (a rotated key in `source`,
 * deleteOnDestroy) is an update that records it, so that destroy runs with it.
 */
export function diffRestore(olds: RestoreInputs | DrillInputs, news: RestoreInputs | DrillInputs, replaceKeys: readonly string[]): { changes: boolean; replaces: string[] } {
  const o = olds as unknown as Record<string, unknown>;
  const n = news as unknown as Record<string, unknown>;
  const replaces = knownChanges(o, n, replaceKeys);
  if (knownChanges({ source: sourceIdentity(o.source) }, { source: sourceIdentity(n.source) }, ['source']).length > 0) replaces.push('source');
  const changed = knownChanges(o, n, ['source', 'deleteOnDestroy']).length > 0 || unknownKeys(n).length > 0;
  return { changes: replaces.length > 0 || changed, replaces };
}

/** The snapshot to restore: the source's newest, or the one named (which must be the source's). */
export async function pickSnapshot(repo: Repository, source: RestoreInputs['source'], ref = 'latest'): Promise<Snapshot> {
  const location = sourceLocation(source);
  if (ref === 'latest') {
    // The newest readable one: a damaged manifest cannot be restored (`check` reports it).
    try {
      return await findSnapshot(repo, 'latest', { sources: [location] });
    } catch (err) {
      if (err instanceof NotFoundError) throw new Error(`snapshot: no snapshot of ${location} in ${repo.location} yet`, { cause: err });
      throw err;
    }
  }
  const s = await findSnapshot(repo, ref);
  if (s.source.location !== location) throw new Error(`snapshot: ${ref} is a snapshot of ${s.source.location}, not of ${location}`);
  return s;
}

export async function restoreFromSource(i: RestoreInputs, overrides: ConnectionOverrides = {}): Promise<RestoreOutputs> {
  const src = i.source;
  if (src.kind === 'instance' && !i.name) throw new Error('name: the new server\'s name is required to restore an Instance');
  const started = Date.now();
  return withStore(src.store, async (repo) => {
    const snapshot = await pickSnapshot(repo, src, i.snapshot);
    return withScaleway(src.scaleway, src.zone, src.bucket, overrides, async (clients, staging) => {
      const { restoreBlockVolume, restoreInstance } = await import('../engine/scaleway');
      const common = { zone: src.zone, bucket: src.bucket, prefix: src.stagingPrefix };
      if (src.kind === 'instance') {
        const r = await restoreInstance(repo, clients, staging, { ...common, group: snapshot, newServerName: i.name });
        return { ...i, snapshotId: snapshot.id, volumeIds: r.volumes.map((v) => v.volumeId), serverId: r.serverId, durationMs: Date.now() - started };
      }
      const r = await restoreBlockVolume(repo, clients, staging, { ...common, snapshot, name: i.name, attachToServerId: i.attachTo });
      return { ...i, snapshotId: snapshot.id, volumeIds: [r.volumeId], durationMs: Date.now() - started };
    });
  });
}

/**
 * Delete what a restore created, only when it asked for it: the new server (an Instance restore)
 * or the new volume. Anything else, the original source included, is never touched.
 */
export async function deleteRestored(o: RestoreOutputs, overrides: ConnectionOverrides = {}): Promise<string[]> {
  if (!o.deleteOnDestroy) return [];
  const src = o.source;
  return withScaleway(src.scaleway, src.zone, src.bucket, overrides, async (clients) => {
    const { callScaleway, deleteServerAndLocalVolumes, isScalewayNotFound } = await import('../engine/scaleway');
    const removed: string[] = [];
    // Powered off, deleted, its local volumes deleted after it; its SBS volumes are detached and deleted below.
    if (o.serverId) removed.push(...await deleteServerAndLocalVolumes(clients, src.zone, o.serverId));
    for (const volumeId of o.volumeIds) {
      // A local volume (gone with its server) or a volume already deleted: nothing to do.
      const v = await callScaleway(`read volume ${volumeId}`, () => clients.block.getVolume({ zone: src.zone, volumeId })).catch((err: unknown) => {
        if (isScalewayNotFound(err)) return undefined;
        throw err;
      });
      if (!v) continue;
      for (const ref of v.references) {
        if (ref.productResourceType === 'instance_server') {
          await callScaleway(`detach volume ${volumeId}`, () => clients.instance.detachServerVolume({ zone: src.zone, serverId: ref.productResourceId, volumeId }));
        }
      }
      await callScaleway(`delete volume ${volumeId}`, () => clients.block.deleteVolume({ zone: src.zone, volumeId }));
      removed.push(`volume ${volumeId}`);
    }
    return removed;
  });
}

export interface DrillInputs extends Omit<RestoreInputs, 'attachTo' | 'deleteOnDestroy'> {
  /** Any value; changing it runs a new drill (e.g. the month: "2026-11"). */
  runId?: string;
}

export interface DrillOutputs extends DrillInputs {
  snapshotId: string;
  /** Time to a usable restored volume, as recorded (`rtoSeconds`), in whole milliseconds. */
  rtoMs: number;
  /** The measured RTO as the drill record states it (what `scw-backup drills` and the report show). */
  rtoSeconds: number;
  verifiedBytes: number;
  chunks: number;
  /** The drill record in the store (`drills/<id>`, docs/FORMAT.md §13). */
  drillId: string;
  /** Always `passed`: a failed drill is recorded, then fails the resource's create. */
  result: 'passed';
  /** ISO 8601: when the drill started. */
  started: string;
}

/** A drill failed, and its record (result `failed`, with the error) is in the store. */
export class DrillFailedError extends BackupError {
  constructor(readonly drillId: string, readonly record: DrillRecord) {
    super('DRILL_FAILED', `restore drill of snapshot ${record.snapshot.slice(0, 12)} failed: ${record.error?.message ?? 'no reason recorded'} ` +
      `(recorded as drills/${drillId.slice(0, 12)}; "scw-backup drills" lists it)`);
  }
}

/**
 * A restore drill (engine/scaleway/drill-volume.ts, as `scw-backup drill`): restore the snapshot to
 * a scratch volume, compare every byte of it with the store, delete the scratch volume whatever
 * happened, and write the drill record into the store. A failed drill (a restore error, bytes that
 * differ) is recorded as failed, then thrown: the resource is not created, and the next `pulumi up`
 * drills again.
 */
export async function runDrill(i: DrillInputs, overrides: ConnectionOverrides = {}): Promise<DrillOutputs> {
  const src = i.source;
  if (src.kind !== 'volume') throw new Error('source.kind: restore drills of whole Instances are not supported yet; drill each volume');
  const r = await withStore(src.store, async (repo) => {
    const snapshot = await pickSnapshot(repo, src, i.snapshot);
    return withScaleway(src.scaleway, src.zone, src.bucket, overrides, async (clients, staging) => {
      const { drillVolume } = await import('../engine/scaleway');
      return drillVolume(repo, clients, staging, { snapshot, zone: src.zone, bucket: src.bucket, prefix: src.stagingPrefix, ...(i.name ? { name: i.name } : {}) });
    });
  });
  const d = r.record;
  if (d.result === 'failed' || d.rtoSeconds === null) throw new DrillFailedError(r.id, d);
  return {
    ...i, snapshotId: d.snapshot, rtoMs: Math.round(d.rtoSeconds * 1000), rtoSeconds: d.rtoSeconds, verifiedBytes: d.bytesVerified, chunks: r.chunks,
    drillId: r.id, result: 'passed', started: d.started,
  };
}
