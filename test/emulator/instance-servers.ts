/**
 * Instance API v1 servers (`/instance/v1/zones/{zone}/servers…`): list, get, create, delete, actions
 * (poweron, poweroff, stop_in_place, reboot, terminate) and attach/detach of volumes.
 *
 * A new server is `stopped`. poweron: `starting` → `running`; poweroff: `stopping` → `stopped`;
 * stop_in_place: `stopping` → `stopped in place`; terminate: `stopping`, then the server and its
 * local volumes are gone and its SBS volumes detached. SBS volumes hot-plug in any state; local
 * volumes attach and detach only while the server is stopped.
 */
import { randomBytes } from 'node:crypto';
import { asObject, nameOf, sizeOf, stringOr, tagsOf } from './fields';
import { invalidRequest, readJson, sendJson, sendNoContent, type JsonObject } from './http';
import { allowedActions, serverJson, taskJson } from './instance-json';
import { hasAllTags, isLocal, newId, paginate, sortByOrder, type ServerRecord, type VolumeRecord } from './model';
import type { RouteContext, Router } from './router';
import type { EmulatorState } from './state';

export function addServerRoutes(router: Router, state: EmulatorState): void {
  const base = '/instance/v1/zones/:zone/servers';
  const zoneOf = (ctx: RouteContext): string => state.zoneOf(ctx);

  router.add('GET', base, async (ctx) => {
    const zone = zoneOf(ctx);
    const q = ctx.query;
    const tags = (q.get('tags') ?? '').split(',').filter((t) => t.length > 0);
    const ids = (q.get('servers') ?? '').split(',').filter((t) => t.length > 0);
    let list = [...state.servers.values()].filter(
      (s) =>
        s.zone === zone &&
        (!q.get('project') || s.projectId === q.get('project')) &&
        (!q.get('organization') || s.organizationId === q.get('organization')) &&
        (!q.get('name') || s.name.includes(q.get('name') as string)) &&
        (!q.get('state') || s.state === q.get('state')) &&
        (!q.get('commercial_type') || s.commercialType === q.get('commercial_type')) &&
        (!q.get('private_network') || s.privateNics.some((n) => n.privateNetworkId === q.get('private_network'))) &&
        (ids.length === 0 || ids.includes(s.id)) &&
        hasAllTags(s.tags, tags),
    );
    list = sortByOrder(list, q.get('order') === 'creation_date_desc' ? 'created_at_desc' : null);
    sendJson(ctx.res, 200, { servers: paginate(list, q, 'per_page').map((s) => serverJson(state, s)) }, { 'X-Total-Count': String(list.length) });
  });

  router.add('POST', base, async (ctx) => {
    const zone = zoneOf(ctx);
    const body = await readJson(ctx.req);
    const server = await createServer(state, zone, body);
    sendJson(ctx.res, 201, { server: serverJson(state, server) });
  });

  router.add('GET', `${base}/:id`, async (ctx) => {
    sendJson(ctx.res, 200, { server: serverJson(state, state.server(zoneOf(ctx), ctx.params.id)) });
  });

  router.add('DELETE', `${base}/:id`, async (ctx) => {
    const s = state.server(zoneOf(ctx), ctx.params.id);
    if (s.state !== 'stopped') throw invalidRequest('state', `server ${s.id} is ${s.state}; it must be stopped before it is deleted`);
    for (const id of [...s.volumeIds]) {
      const v = state.volumes.get(id);
      if (v) state.detach(s, v);
    }
    state.servers.delete(s.id);
    sendNoContent(ctx.res);
  });

  router.add('GET', `${base}/:id/action`, async (ctx) => {
    sendJson(ctx.res, 200, { actions: allowedActions(state.server(zoneOf(ctx), ctx.params.id).state) });
  });

  router.add('POST', `${base}/:id/action`, async (ctx) => {
    const zone = zoneOf(ctx);
    const s = state.server(zone, ctx.params.id);
    const body = await readJson(ctx.req);
    const action = typeof body.action === 'string' ? body.action : 'poweron';
    runAction(state, s, action);
    sendJson(ctx.res, 202, { task: taskJson(zone, `server_${action}`, `/servers/${s.id}/action`, `/servers/${s.id}`) });
  });

  router.add('POST', `${base}/:id/attach-volume`, async (ctx) => {
    const zone = zoneOf(ctx);
    const s = state.server(zone, ctx.params.id);
    const body = await readJson(ctx.req);
    const v = volumeForServer(state, zone, body.volume_id);
    const wanted = body.volume_type;
    const actual = isLocal(v) ? v.type : 'sbs_volume';
    if (typeof wanted === 'string' && wanted !== actual) throw invalidRequest('volume_type', `volume ${v.id} is ${actual}, not ${wanted}`);
    if (v.attachment) throw invalidRequest('volume_id', `volume ${v.id} is already attached to server ${v.attachment.serverId}`);
    if (isLocal(v) && s.state !== 'stopped') throw invalidRequest('volume_id', `local volumes can only be attached to a stopped server (server ${s.id} is ${s.state})`);
    state.attach(s, v, body.boot === true);
    sendJson(ctx.res, 200, { server: serverJson(state, s) });
  });

  router.add('POST', `${base}/:id/detach-volume`, async (ctx) => {
    const zone = zoneOf(ctx);
    const s = state.server(zone, ctx.params.id);
    const body = await readJson(ctx.req);
    const v = volumeForServer(state, zone, body.volume_id);
    if (v.attachment?.serverId !== s.id) throw invalidRequest('volume_id', `volume ${v.id} is not attached to server ${s.id}`);
    if (isLocal(v) && s.state !== 'stopped') throw invalidRequest('volume_id', `local volumes can only be detached from a stopped server (server ${s.id} is ${s.state})`);
    state.detach(s, v);
    sendJson(ctx.res, 200, { server: serverJson(state, s) });
  });
}

function volumeForServer(state: EmulatorState, zone: string, id: unknown): VolumeRecord {
  if (typeof id !== 'string') throw invalidRequest('volume_id', 'volume_id is required');
  const v = state.volumes.get(id);
  if (!v || v.zone !== zone) return state.localVolume(zone, id); // throws not_found instance_volume
  return v;
}

/** Options of the admin's and the API's server creation. */
export interface NewServer {
  name?: string;
  commercialType: string;
  projectId?: string;
  tags?: string[];
  image?: { id: string; name: string } | null;
  securityGroup?: { id: string; name: string };
  privateNetworkIds?: string[];
  state?: 'running' | 'stopped';
}

export function newServer(state: EmulatorState, zone: string, f: NewServer): ServerRecord {
  const now = new Date();
  const mac = (): string => `de:00:00:${randomBytes(3).toString('hex').match(/../g)?.join(':')}`;
  const s: ServerRecord = {
    id: newId(),
    name: f.name ?? `srv-${newId().slice(0, 8)}`,
    zone,
    projectId: f.projectId ?? state.config.projectId,
    organizationId: state.config.organizationId,
    commercialType: f.commercialType,
    arch: 'x86_64',
    image: f.image ?? null,
    volumeIds: [],
    bootVolumeIds: new Set(),
    tags: f.tags ?? [],
    securityGroup: f.securityGroup ?? { id: newId(), name: 'Default security group' },
    privateNics: (f.privateNetworkIds ?? []).map((pn) => ({ id: newId(), privateNetworkId: pn, macAddress: mac(), createdAt: now })),
    state: f.state ?? 'stopped',
    stateDetail: f.state === 'running' ? 'booted' : '',
    macAddress: mac(),
    createdAt: now,
    updatedAt: now,
  };
  state.servers.set(s.id, s);
  return s;
}

/** POST /servers: volumes are existing ones (`{id}`) or new ones (`{volume_type, size, base_snapshot}`). */
async function createServer(state: EmulatorState, zone: string, body: JsonObject): Promise<ServerRecord> {
  if (typeof body.commercial_type !== 'string') throw invalidRequest('commercial_type', 'commercial_type is required');
  const templates = Object.entries(asObject(body.volumes) ?? {})
    .map(([k, t]) => [Number(k), asObject(t) ?? {}] as const)
    .sort((a, b) => a[0] - b[0]);
  const imageRef = stringOr(body.image);
  if (!imageRef && !templates.some(([k]) => k === 0)) throw invalidRequest('image', 'image is required unless volumes["0"] is given');
  // Check existing volumes before creating anything.
  for (const [, t] of templates) {
    if (typeof t.id !== 'string') continue;
    const v = volumeForServer(state, zone, t.id);
    if (v.attachment) throw invalidRequest('volumes', `volume ${v.id} is already attached to server ${v.attachment.serverId}`);
  }
  const name = nameOf(body.name, 'srv');
  const s = newServer(state, zone, {
    name,
    commercialType: body.commercial_type,
    projectId: stringOr(body.project),
    tags: tagsOf(body.tags),
    image: imageRef ? { id: /^[0-9a-f-]{36}$/.test(imageRef) ? imageRef : newId(), name: imageRef } : null,
    securityGroup: stringOr(body.security_group) ? { id: body.security_group as string, name: 'security group' } : undefined,
  });
  if (!templates.some(([k]) => k === 0)) {
    // Default root volume: 10 GB SBS, empty (the emulator has no OS images).
    const root = await state.addVolume({ zone, name: `${name}-root`, type: 'sbs_5k', size: 10_000_000_000, status: 'available' });
    state.attach(s, root, true);
  }
  for (const [k, t] of templates) {
    const v = typeof t.id === 'string' ? volumeForServer(state, zone, t.id) : await volumeFromTemplate(state, zone, name, k, t);
    state.attach(s, v, t.boot === true);
  }
  return s;
}

async function volumeFromTemplate(state: EmulatorState, zone: string, serverName: string, index: number, t: JsonObject): Promise<VolumeRecord> {
  const type = t.volume_type ?? 'l_ssd';
  const base = stringOr(t.base_snapshot);
  const name = nameOf(t.name, `${serverName}-vol${index}`);
  if (type === 'l_ssd') {
    if (base) {
      const snap = state.instanceSnapshot(zone, base);
      return state.addVolume({ zone, name, type: 'l_ssd', size: snap.size, status: 'available' }, { copyOf: snap.id });
    }
    return state.addVolume({ zone, name, type: 'l_ssd', size: sizeOf(t.size, `volumes.${index}.size`, 'legacy'), status: 'available' });
  }
  if (type === 'sbs_volume') {
    if (base) {
      const snap = state.blockSnapshot(zone, base);
      const size = t.size === undefined || t.size === null ? snap.size : sizeOf(t.size, `volumes.${index}.size`, 'legacy');
      return state.addVolume({ zone, name, type: snap.volumeType, size, status: 'available', parentSnapshotId: snap.id }, { copyOf: snap.id });
    }
    return state.addVolume({ zone, name, type: 'sbs_5k', size: sizeOf(t.size, `volumes.${index}.size`, 'legacy'), status: 'available' });
  }
  throw invalidRequest(`volumes.${index}.volume_type`, `volume type ${String(type)} is not emulated (l_ssd or sbs_volume)`);
}

const TRANSITIONS: Record<string, { from: string[]; via: string; to: string }> = {
  poweron: { from: ['stopped', 'stopped in place'], via: 'starting', to: 'running' },
  poweroff: { from: ['running', 'stopped in place'], via: 'stopping', to: 'stopped' },
  stop_in_place: { from: ['running'], via: 'stopping', to: 'stopped in place' },
  reboot: { from: ['running'], via: 'starting', to: 'running' },
  terminate: { from: ['running', 'stopped', 'stopped in place'], via: 'stopping', to: 'terminated' },
};

function runAction(state: EmulatorState, s: ServerRecord, action: string): void {
  if (action === 'enable_routed_ip') return;
  const t = TRANSITIONS[action];
  if (!t) throw invalidRequest('action', `action "${action}" is not emulated (poweron, poweroff, stop_in_place, reboot, terminate)`);
  if (!t.from.includes(s.state)) throw invalidRequest('action', `action ${action} is not allowed while server ${s.id} is ${s.state}`);
  s.state = t.via;
  s.stateDetail = t.via === 'starting' ? 'provisioning node' : 'stopping';
  s.updatedAt = new Date();
  state.jobs.after(state.config.delays.serverAction, async () => {
    if (t.to !== 'terminated') {
      s.state = t.to;
      s.stateDetail = t.to === 'running' ? 'booted' : '';
      s.updatedAt = new Date();
      return;
    }
    for (const id of [...s.volumeIds]) {
      const v = state.volumes.get(id);
      if (!v) continue;
      state.detach(s, v);
      // terminate deletes l_ssd and scratch volumes, only detaches sbs_volume (SDK serverAction doc).
      if (isLocal(v)) {
        state.volumes.delete(v.id);
        await state.disks.remove(v.id);
      }
    }
    state.servers.delete(s.id);
  });
}
