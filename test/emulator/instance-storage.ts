/**
 * Instance API v1 local storage (`/instance/v1/zones/{zone}/volumes…` and `/snapshots…`): l_ssd
 * volumes, their snapshots, snapshot export to a bucket and import from one (createSnapshot with
 * bucket + key). SBS volumes are not Instance volumes: asking for one answers `instance_volume`
 * not found, as the real API does since the Block Storage migration.
 *
 * Snapshot states: `snapshotting` → `available` (the volume is `snapshotting` meanwhile);
 * `importing` → `available`; export: `exporting` → `available`.
 */
import { nameOf, sizeOf, stringOr, tagsOf } from './fields';
import { invalidRequest, preconditionFailed, readJson, sendJson, sendNoContent, transientState } from './http';
import { instanceSnapshotJson, localVolumeJson, taskJson } from './instance-json';
import { hasAllTags, isLocal, paginate, sortByOrder, type InstanceSnapshotRecord } from './model';
import type { RouteContext, Router } from './router';
import type { EmulatorState } from './state';
import { finishImport, prepareImport, startExport } from './transfers';

const SNAPSHOT_TRANSIENT = ['snapshotting', 'importing', 'exporting'];

export function addLocalStorageRoutes(router: Router, state: EmulatorState): void {
  const base = '/instance/v1/zones/:zone';
  const zoneOf = (ctx: RouteContext): string => state.zoneOf(ctx);

  router.add('GET', `${base}/volumes`, async (ctx) => {
    const zone = zoneOf(ctx);
    const q = ctx.query;
    const tags = (q.get('tags') ?? '').split(',').filter((t) => t.length > 0);
    const type = q.get('volume_type');
    let list = [...state.volumes.values()].filter(
      (v) =>
        v.zone === zone &&
        isLocal(v) &&
        (!type || type === v.type) &&
        (!q.get('project') || v.projectId === q.get('project')) &&
        (!q.get('name') || v.name.includes(q.get('name') as string)) &&
        hasAllTags(v.tags, tags),
    );
    list = sortByOrder(list, null);
    sendJson(ctx.res, 200, { volumes: paginate(list, q, 'per_page').map((v) => localVolumeJson(state, v)) }, { 'X-Total-Count': String(list.length) });
  });

  router.add('POST', `${base}/volumes`, async (ctx) => {
    const zone = zoneOf(ctx);
    const body = await readJson(ctx.req);
    if (body.volume_type !== 'l_ssd') {
      throw invalidRequest('volume_type', `volume_type ${String(body.volume_type)} is not emulated here: create l_ssd volumes, or SBS volumes with the Block Storage API`);
    }
    const common = { zone, name: nameOf(body.name, 'vol'), type: 'l_ssd' as const, projectId: stringOr(body.project), tags: tagsOf(body.tags), status: 'available' };
    const base = stringOr(body.base_snapshot);
    let v;
    if (base) {
      const snap = state.instanceSnapshot(zone, base);
      if (SNAPSHOT_TRANSIENT.includes(snap.state)) throw transientState('instance_snapshot', snap.id, snap.state);
      if (snap.state !== 'available') throw preconditionFailed('resource_not_usable', `snapshot ${snap.id} is ${snap.state}`);
      v = await state.addVolume({ ...common, size: snap.size }, { copyOf: snap.id });
    } else {
      v = await state.addVolume({ ...common, size: sizeOf(body.size, 'size', 'legacy') });
    }
    sendJson(ctx.res, 201, { volume: localVolumeJson(state, v) });
  });

  router.add('GET', `${base}/volumes/:id`, async (ctx) => {
    sendJson(ctx.res, 200, { volume: localVolumeJson(state, state.localVolume(zoneOf(ctx), ctx.params.id)) });
  });

  router.add('DELETE', `${base}/volumes/:id`, async (ctx) => {
    const v = state.localVolume(zoneOf(ctx), ctx.params.id);
    if (v.attachment) throw preconditionFailed('resource_still_in_use', `volume ${v.id} is attached to server ${v.attachment.serverId}; detach it first`);
    if (v.status !== 'available') throw transientState('instance_volume', v.id, v.status);
    state.volumes.delete(v.id);
    await state.disks.remove(v.id);
    sendNoContent(ctx.res);
  });

  router.add('GET', `${base}/snapshots`, async (ctx) => {
    const zone = zoneOf(ctx);
    const q = ctx.query;
    const tags = (q.get('tags') ?? '').split(',').filter((t) => t.length > 0);
    let list = [...state.instanceSnapshots.values()].filter(
      (s) =>
        s.zone === zone &&
        (!q.get('project') || s.projectId === q.get('project')) &&
        (!q.get('name') || s.name.includes(q.get('name') as string)) &&
        (!q.get('base_volume_id') || s.baseVolume?.id === q.get('base_volume_id')) &&
        hasAllTags(s.tags, tags),
    );
    list = sortByOrder(list, null);
    sendJson(ctx.res, 200, { snapshots: paginate(list, q, 'per_page').map(instanceSnapshotJson) }, { 'X-Total-Count': String(list.length) });
  });

  router.add('POST', `${base}/snapshots`, async (ctx) => {
    const zone = zoneOf(ctx);
    const body = await readJson(ctx.req);
    const fields = { zone, name: nameOf(body.name, 'snp'), projectId: stringOr(body.project), tags: tagsOf(body.tags) };
    let snap: InstanceSnapshotRecord;
    if (typeof body.volume_id === 'string') {
      const v = state.volumes.get(body.volume_id);
      if (v && v.zone === zone && !isLocal(v)) {
        throw invalidRequest('volume_id', `volume ${v.id} is an SBS volume: snapshot it with the Block Storage API`);
      }
      const local = state.localVolume(zone, body.volume_id);
      // SDK serverAction doc: "`scratch` volumes types can't be shapshotted". The answer is a guess (README).
      if (local.type === 'scratch') throw invalidRequest('volume_id', `volume ${local.id} is a scratch volume: scratch volumes cannot be snapshotted`);
      if (local.status !== 'available') throw transientState('instance_volume', local.id, local.status);
      snap = newSnapshot(state, { ...fields, size: local.size, state: 'snapshotting', baseVolume: { id: local.id, name: local.name } });
      await state.disks.copy(local.id, snap.id, local.size);
      local.status = 'snapshotting';
      state.jobs.after(state.config.delays.snapshotCreate, () => {
        if (local.status === 'snapshotting') local.status = 'available';
        if (snap.state === 'snapshotting') setState(snap, 'available');
      });
    } else if (body.bucket !== undefined || body.key !== undefined) {
      if (body.volume_type !== undefined && body.volume_type !== 'l_ssd') {
        throw invalidRequest('volume_type', `volume_type ${String(body.volume_type)} is not emulated: local snapshots are l_ssd`);
      }
      const pending = await prepareImport(state, { zone, bucket: body.bucket, key: body.key, size: body.size, style: 'legacy' });
      snap = newSnapshot(state, { ...fields, size: typeof body.size === 'number' ? body.size : pending.virtualSize, state: 'importing', baseVolume: null });
      finishImport(state, pending, { diskId: snap.id, size: snap.size, done: 'available', setStatus: (s) => setState(snap, s) });
    } else {
      throw invalidRequest('volume_id', 'volume_id, or bucket and key, is required');
    }
    sendJson(ctx.res, 201, { snapshot: instanceSnapshotJson(snap), task: taskJson(zone, 'create_snapshot', '/snapshots', `snapshots/${snap.id}`) });
  });

  router.add('GET', `${base}/snapshots/:id`, async (ctx) => {
    sendJson(ctx.res, 200, { snapshot: instanceSnapshotJson(state.instanceSnapshot(zoneOf(ctx), ctx.params.id)) });
  });

  router.add('PATCH', `${base}/snapshots/:id`, async (ctx) => {
    const snap = state.instanceSnapshot(zoneOf(ctx), ctx.params.id);
    const body = await readJson(ctx.req);
    if (body.name !== undefined) snap.name = nameOf(body.name, 'snp');
    if (body.tags !== undefined) snap.tags = tagsOf(body.tags);
    snap.updatedAt = new Date();
    sendJson(ctx.res, 200, { snapshot: instanceSnapshotJson(snap) });
  });

  router.add('DELETE', `${base}/snapshots/:id`, async (ctx) => {
    const snap = state.instanceSnapshot(zoneOf(ctx), ctx.params.id);
    if (SNAPSHOT_TRANSIENT.includes(snap.state)) throw transientState('instance_snapshot', snap.id, snap.state);
    state.instanceSnapshots.delete(snap.id);
    await state.disks.remove(snap.id);
    sendNoContent(ctx.res);
  });

  router.add('POST', `${base}/snapshots/:id/export`, async (ctx) => {
    const zone = zoneOf(ctx);
    const snap = state.instanceSnapshot(zone, ctx.params.id);
    const body = await readJson(ctx.req);
    if (SNAPSHOT_TRANSIENT.includes(snap.state)) throw transientState('instance_snapshot', snap.id, snap.state);
    if (snap.state !== 'available') throw preconditionFailed('resource_not_usable', `snapshot ${snap.id} is ${snap.state}, not available`);
    const where = await startExport(state, { zone, diskId: snap.id, size: snap.size, bucket: body.bucket, key: body.key, style: 'legacy', done: 'available', setStatus: (s) => setState(snap, s) });
    sendJson(ctx.res, 202, { task: taskJson(zone, 'export_snapshot', `/snapshots/${snap.id}/export`, `${where.bucket}/${where.key}`) });
  });
}

function newSnapshot(
  state: EmulatorState,
  f: { zone: string; name: string; projectId?: string; tags: string[]; size: number; state: string; baseVolume: { id: string; name: string } | null },
): InstanceSnapshotRecord {
  const snap: InstanceSnapshotRecord = {
    ...state.newZonedResource(f),
    state: f.state,
    volumeType: 'l_ssd',
    baseVolume: f.baseVolume,
    errorDetails: null,
  };
  state.instanceSnapshots.set(snap.id, snap);
  return snap;
}

// The Instance API bumps modification_date on state changes (seen on a real export).
function setState(snap: InstanceSnapshotRecord, s: string): void {
  snap.state = s;
  snap.updatedAt = new Date();
  if (s === 'error') snap.errorDetails = 'the emulator was told to fail this operation, or it failed';
}
