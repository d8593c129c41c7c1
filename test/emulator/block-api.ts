/**
 * Block Storage API v1 (`/block/v1/zones/{zone}/…`): SBS volumes and snapshots, snapshot export to
 * and import from Object Storage.
 *
 * Transitions (as recorded against the real API): a new volume is `creating` then `available`
 * (`in_use` while attached); a new snapshot is `creating` then `available`, and the volume keeps its
 * status meanwhile; an export turns the snapshot `exporting` and back to `available`; an import is
 * `creating` then `available` (there is no `importing` status in v1).
 */
import { snapshotJson, volumeJson } from './block-json';
import { asObject, nameOf, sizeOf, stringOr, tagsOf } from './fields';
import { invalidArguments, preconditionFailed, readJson, sendJson, sendNoContent, transientState } from './http';
import {
  hasAllTags,
  isLocal,
  paginate,
  PERF_IOPS,
  sortByOrder,
  type BlockSnapshotRecord,
  type BlockVolumeType,
  type VolumeRecord,
} from './model';
import type { Router, RouteContext } from './router';
import type { EmulatorState } from './state';
import { finishImport, prepareImport, startExport } from './transfers';

const VOLUME_TRANSIENT = ['creating', 'deleting', 'resizing', 'snapshotting', 'updating'];
const SNAPSHOT_TRANSIENT = ['creating', 'deleting', 'exporting'];

export function addBlockRoutes(router: Router, state: EmulatorState): void {
  const base = '/block/v1/zones/:zone';
  const zoneOf = (ctx: RouteContext): string => state.zoneOf(ctx);

  router.add('GET', `${base}/volumes`, async (ctx) => {
    const zone = zoneOf(ctx);
    const q = ctx.query;
    const tags = q.getAll('tags');
    let list = [...state.volumes.values()].filter((v) => v.zone === zone && !isLocal(v));
    list = list.filter(
      (v) =>
        (!q.get('project_id') || v.projectId === q.get('project_id')) &&
        (!q.get('organization_id') || v.organizationId === q.get('organization_id')) &&
        (!q.get('name') || v.name.includes(q.get('name') as string)) &&
        (!q.get('product_resource_id') || v.attachment?.serverId === q.get('product_resource_id')) &&
        hasAllTags(v.tags, tags),
    );
    list = sortByOrder(list, q.get('order_by'));
    sendJson(ctx.res, 200, { total_count: list.length, volumes: paginate(list, q, 'page_size').map(volumeJson) });
  });

  router.add('POST', `${base}/volumes`, async (ctx) => {
    const zone = zoneOf(ctx);
    const body = await readJson(ctx.req);
    const type = volumeTypeOf(body.perf_iops);
    const fromEmpty = asObject(body.from_empty);
    const fromSnapshot = asObject(body.from_snapshot);
    const common = { zone, name: nameOf(body.name, 'vol'), projectId: stringOr(body.project_id), tags: tagsOf(body.tags), status: 'creating' };
    let v: VolumeRecord;
    if (fromSnapshot) {
      if (typeof fromSnapshot.snapshot_id !== 'string') throw invalidArguments('from_snapshot.snapshot_id', 'snapshot_id is required', 'required');
      const snap = state.blockSnapshot(zone, fromSnapshot.snapshot_id);
      if (snap.status === 'creating' || snap.status === 'deleting') throw transientState('snapshot', snap.id, snap.status);
      if (snap.status === 'error') throw preconditionFailed('resource_not_usable', `snapshot ${snap.id} is in error and cannot be used`);
      let size = snap.size;
      if (fromSnapshot.size !== undefined && fromSnapshot.size !== null) {
        size = sizeOf(fromSnapshot.size, 'from_snapshot.size');
        if (size < snap.size) {
          throw preconditionFailed(
            'resource_not_usable',
            `size, when provided, must be equal to or larger than the size of the source snapshot. Here the requested volume size is '${size}' whereas snapshot size is '${snap.size}'`,
          );
        }
      }
      v = await state.addVolume({ ...common, type: type ?? snap.volumeType, size, parentSnapshotId: snap.id }, { copyOf: snap.id });
    } else if (fromEmpty) {
      v = await state.addVolume({ ...common, type: type ?? 'sbs_5k', size: sizeOf(fromEmpty.size, 'from_empty.size') });
    } else {
      throw invalidArguments('from_empty', 'one of from_empty or from_snapshot is required', 'required');
    }
    state.jobs.after(state.config.delays.volumeCreate, () => {
      if (v.status === 'creating') setVolumeStatus(v, 'available');
    });
    sendJson(ctx.res, 200, volumeJson(v));
  });

  router.add('GET', `${base}/volumes/:id`, async (ctx) => {
    sendJson(ctx.res, 200, volumeJson(state.blockVolume(zoneOf(ctx), ctx.params.id)));
  });

  router.add('PATCH', `${base}/volumes/:id`, async (ctx) => {
    const v = state.blockVolume(zoneOf(ctx), ctx.params.id);
    const body = await readJson(ctx.req);
    if (VOLUME_TRANSIENT.includes(v.status)) throw transientState('volume', v.id, v.status);
    if (typeof body.name === 'string') v.name = body.name;
    if (Array.isArray(body.tags)) v.tags = tagsOf(body.tags);
    if (body.perf_iops !== undefined && body.perf_iops !== null) v.type = volumeTypeOf(body.perf_iops) ?? v.type;
    if (body.size !== undefined && body.size !== null) {
      const size = sizeOf(body.size, 'size');
      if (size < v.size) throw preconditionFailed('resource_not_usable', `a volume can only grow: ${size} < ${v.size}`);
      await state.disks.resize(v.id, size);
      v.size = size;
    }
    v.updatedAt = new Date();
    sendJson(ctx.res, 200, volumeJson(v));
  });

  router.add('DELETE', `${base}/volumes/:id`, async (ctx) => {
    const v = state.blockVolume(zoneOf(ctx), ctx.params.id);
    if (v.attachment) {
      throw preconditionFailed('resource_still_in_use', `volume ${v.id} is attached to server ${v.attachment.serverId}; detach it first`);
    }
    if (VOLUME_TRANSIENT.includes(v.status)) throw transientState('volume', v.id, v.status);
    state.volumes.delete(v.id);
    await state.disks.remove(v.id);
    sendNoContent(ctx.res);
  });

  router.add('GET', `${base}/snapshots`, async (ctx) => {
    const zone = zoneOf(ctx);
    const q = ctx.query;
    const tags = q.getAll('tags');
    let list = [...state.blockSnapshots.values()].filter(
      (s) =>
        s.zone === zone &&
        (!q.get('project_id') || s.projectId === q.get('project_id')) &&
        (!q.get('organization_id') || s.organizationId === q.get('organization_id')) &&
        (!q.get('name') || s.name.includes(q.get('name') as string)) &&
        (!q.get('volume_id') || s.parentVolume?.id === q.get('volume_id')) &&
        hasAllTags(s.tags, tags),
    );
    list = sortByOrder(list, q.get('order_by'));
    sendJson(ctx.res, 200, { snapshots: paginate(list, q, 'page_size').map((s) => snapshotJson(state, s)), total_count: list.length });
  });

  router.add('POST', `${base}/snapshots/import-from-object-storage`, async (ctx) => {
    const zone = zoneOf(ctx);
    const body = await readJson(ctx.req);
    const pending = await prepareImport(state, { zone, bucket: body.bucket, key: body.key, size: body.size, style: 'standard' });
    const snap = newSnapshot(state, { zone, name: nameOf(body.name, 'snp'), projectId: stringOr(body.project_id), tags: tagsOf(body.tags), size: typeof body.size === 'number' ? body.size : pending.virtualSize });
    finishImport(state, pending, { diskId: snap.id, size: snap.size, done: 'available', setStatus: (s) => setSnapshotStatus(snap, s) });
    sendJson(ctx.res, 200, snapshotJson(state, snap));
  });

  router.add('POST', `${base}/snapshots`, async (ctx) => {
    const zone = zoneOf(ctx);
    const body = await readJson(ctx.req);
    if (typeof body.volume_id !== 'string') throw invalidArguments('volume_id', 'volume_id is required', 'required');
    const v = state.blockVolume(zone, body.volume_id);
    if (v.status !== 'available' && v.status !== 'in_use') throw transientState('volume', v.id, v.status);
    const snap = newSnapshot(state, { zone, name: nameOf(body.name, 'snp'), projectId: stringOr(body.project_id), tags: tagsOf(body.tags), size: v.size, parent: v });
    // The point-in-time copy is taken now: later guest writes do not reach the snapshot.
    await state.disks.copy(v.id, snap.id, v.size);
    state.jobs.after(state.config.delays.snapshotCreate, () => {
      if (snap.status === 'creating') setSnapshotStatus(snap, 'available');
    });
    sendJson(ctx.res, 200, snapshotJson(state, snap));
  });

  router.add('GET', `${base}/snapshots/:id`, async (ctx) => {
    sendJson(ctx.res, 200, snapshotJson(state, state.blockSnapshot(zoneOf(ctx), ctx.params.id)));
  });

  router.add('PATCH', `${base}/snapshots/:id`, async (ctx) => {
    const snap = state.blockSnapshot(zoneOf(ctx), ctx.params.id);
    const body = await readJson(ctx.req);
    if (typeof body.name === 'string') snap.name = body.name;
    if (Array.isArray(body.tags)) snap.tags = tagsOf(body.tags);
    snap.updatedAt = new Date();
    sendJson(ctx.res, 200, snapshotJson(state, snap));
  });

  router.add('DELETE', `${base}/snapshots/:id`, async (ctx) => {
    const snap = state.blockSnapshot(zoneOf(ctx), ctx.params.id);
    if (SNAPSHOT_TRANSIENT.includes(snap.status)) throw transientState('snapshot', snap.id, snap.status);
    state.blockSnapshots.delete(snap.id);
    await state.disks.remove(snap.id);
    sendNoContent(ctx.res);
  });

  router.add('POST', `${base}/snapshots/:id/export-to-object-storage`, async (ctx) => {
    const zone = zoneOf(ctx);
    const snap = state.blockSnapshot(zone, ctx.params.id);
    const body = await readJson(ctx.req);
    if (SNAPSHOT_TRANSIENT.includes(snap.status)) throw transientState('snapshot', snap.id, snap.status);
    if (snap.status !== 'available') throw preconditionFailed('resource_not_usable', `snapshot ${snap.id} is ${snap.status}, not available`);
    await startExport(state, { zone, diskId: snap.id, size: snap.size, bucket: body.bucket, key: body.key, style: 'standard', done: 'available', setStatus: (s) => setSnapshotStatus(snap, s) });
    sendJson(ctx.res, 200, snapshotJson(state, snap));
  });
}

function newSnapshot(
  state: EmulatorState,
  f: { zone: string; name: string; projectId?: string; tags: string[]; size: number; parent?: VolumeRecord },
): BlockSnapshotRecord {
  const snap: BlockSnapshotRecord = {
    ...state.newZonedResource(f),
    status: 'creating',
    volumeType: f.parent ? (f.parent.type as BlockVolumeType) : 'sbs_5k',
    parentVolume: f.parent ? { id: f.parent.id, name: f.parent.name, type: f.parent.type, status: f.parent.status } : null,
  };
  state.blockSnapshots.set(snap.id, snap);
  return snap;
}

// The real API leaves updated_at alone on status changes (seen on creating → available and exports).
function setSnapshotStatus(snap: BlockSnapshotRecord, status: string): void {
  snap.status = status;
}

function setVolumeStatus(v: VolumeRecord, status: string): void {
  v.status = v.attachment && status === 'available' ? 'in_use' : status;
}

function volumeTypeOf(perfIops: unknown): BlockVolumeType | undefined {
  if (perfIops === undefined || perfIops === null) return undefined;
  for (const [type, iops] of Object.entries(PERF_IOPS)) if (iops === perfIops) return type as BlockVolumeType;
  throw invalidArguments('perf_iops', `perf_iops must be one of ${Object.values(PERF_IOPS).join(', ')}`);
}
