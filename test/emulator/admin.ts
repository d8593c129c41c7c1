/**
 * Test-only control of the emulator: seed volumes from files or bytes, read and write their bytes
 * (guest writes), create servers, set faults and delays, list everything. EmulatorAdmin is the
 * in-process form; addAdminRoutes exposes the same under `/__admin/…` (JSON, no authentication,
 * loopback only) for tests and tools in other processes. See README.md for the endpoint list.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { openDiskImage } from '../../engine/source/open-image';
import type { OperationFault, RequestFault, RequestFilter } from './faults';
import { asObject, stringOr, tagsOf } from './fields';
import { ApiError, invalidRequest, notFound, readBody, readJson, sendJson, sendNoContent, type JsonObject } from './http';
import { newServer } from './instance-servers';
import type { Delays, VolumeRecord, VolumeType } from './model';
import type { Router } from './router';
import type { EmulatorState } from './state';

export interface CreateVolumeOptions {
  /** Default fr-par-1. */
  zone?: string;
  projectId?: string;
  name?: string;
  tags?: string[];
  /** Default sbs_5k. */
  type?: VolumeType;
  /** Bytes; default: the content's size rounded up to 512 (required without content). */
  size?: number;
  /** A local raw or QCOW2 image (told apart by the QCOW2 magic): its guest bytes become the volume. */
  fromFile?: string;
  /** Bytes written at offset 0. */
  bytes?: Uint8Array;
}

export interface VolumeInfo {
  id: string;
  zone: string;
  type: VolumeType;
  size: number;
  name: string;
  projectId: string;
  tags: string[];
  status: string;
  serverId: string | null;
}

export interface CreateServerOptions {
  zone?: string;
  name?: string;
  /** Default DEV1-S. */
  commercialType?: string;
  projectId?: string;
  /** Attached in this order: the first is volumes["0"]. */
  volumeIds?: string[];
  /** Which of volumeIds is flagged `boot: true` (default none, as the real API shows). */
  bootVolumeId?: string;
  /** Default stopped. */
  state?: 'running' | 'stopped';
  tags?: string[];
  securityGroup?: { id: string; name: string };
  privateNetworkIds?: string[];
  image?: { id: string; name: string };
}

export interface ServerInfo {
  id: string;
  zone: string;
  name: string;
  state: string;
  volumeIds: string[];
}

export interface EmulatorListing {
  volumes: VolumeInfo[];
  blockSnapshots: { id: string; zone: string; name: string; status: string; size: number; parentVolumeId: string | null }[];
  instanceSnapshots: { id: string; zone: string; name: string; state: string; size: number; baseVolumeId: string | null }[];
  servers: ServerInfo[];
  applications: { id: string; name: string }[];
  policies: { id: string; name: string; applicationId: string | null; permissionSetNames: string[] }[];
  apiKeys: { accessKey: string; applicationId: string | null }[];
  faults: ReturnType<EmulatorState['faults']['describe']>;
}

export class EmulatorAdmin {
  constructor(protected readonly state: EmulatorState) {}

  async createVolume(o: CreateVolumeOptions): Promise<VolumeInfo> {
    const zone = o.zone ?? 'fr-par-1';
    this.state.checkZone(zone);
    const type = o.type ?? 'sbs_5k';
    if (!['sbs_5k', 'sbs_15k', 'l_ssd', 'scratch'].includes(type)) throw invalidRequest('type', `type must be sbs_5k, sbs_15k, l_ssd or scratch, not ${type}`);
    // QCOW2 when named .qcow2, else raw: the engine's rule for local files (docs/QCOW2.md).
    const source = o.fromFile !== undefined ? await openDiskImage(o.fromFile) : undefined;
    try {
      const contentSize = source?.size ?? o.bytes?.length;
      const size = o.size ?? (contentSize !== undefined ? Math.ceil(contentSize / 512) * 512 : undefined);
      if (size === undefined || !Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) {
        throw invalidRequest('size', 'size must be a positive multiple of 512 (or give from_file/bytes)');
      }
      if (contentSize !== undefined && contentSize > size) throw invalidRequest('size', `size ${size} is smaller than the content (${contentSize} bytes)`);
      const fields = { zone, name: o.name ?? `vol-${type}`, type, size, projectId: o.projectId, tags: o.tags, status: 'available' };
      const v = await this.state.addVolume(fields, source ? { source } : undefined);
      if (o.bytes && o.bytes.length > 0) await this.state.disks.write(v.id, 0, o.bytes);
      return volumeInfo(v);
    } finally {
      await source?.close();
    }
  }

  async readVolume(id: string, offset = 0, length?: number): Promise<Buffer> {
    const v = this.volume(id);
    const n = length ?? v.size - offset;
    checkRange(v, offset, n);
    return this.state.disks.read(id, offset, n);
  }

  volumeInfo(id: string): VolumeInfo {
    return volumeInfo(this.volume(id));
  }

  /** Write the volume's whole content into a local file (raw, holes kept). */
  async readVolumeToFile(id: string, path: string): Promise<void> {
    this.volume(id);
    await this.state.disks.readToFile(id, path);
  }

  /** Simulate guest writes: `bytes` at `offset` (the volume does not grow). */
  async writeVolume(id: string, offset: number, bytes: Uint8Array): Promise<void> {
    const v = this.volume(id);
    checkRange(v, offset, bytes.length);
    await this.state.disks.write(id, offset, bytes);
    v.updatedAt = new Date();
  }

  /** The bytes of a Block or Instance snapshot. */
  async readSnapshot(id: string): Promise<Buffer> {
    const s = this.state.blockSnapshots.get(id) ?? this.state.instanceSnapshots.get(id);
    if (!s) throw notFound('snapshot', id);
    return this.state.disks.read(id, 0, s.size);
  }

  createServer(o: CreateServerOptions = {}): ServerInfo {
    const zone = o.zone ?? 'fr-par-1';
    this.state.checkZone(zone);
    const volumes = (o.volumeIds ?? []).map((id) => this.volume(id));
    for (const v of volumes) {
      if (v.zone !== zone) throw invalidRequest('volume_ids', `volume ${v.id} is in ${v.zone}, not ${zone}`);
      if (v.attachment) throw invalidRequest('volume_ids', `volume ${v.id} is already attached to server ${v.attachment.serverId}`);
    }
    const s = newServer(this.state, zone, {
      name: o.name,
      commercialType: o.commercialType ?? 'DEV1-S',
      projectId: o.projectId,
      tags: o.tags,
      image: o.image ?? null,
      securityGroup: o.securityGroup,
      privateNetworkIds: o.privateNetworkIds,
      state: o.state,
    });
    for (const v of volumes) this.state.attach(s, v, v.id === o.bootVolumeId);
    return { id: s.id, zone, name: s.name, state: s.state, volumeIds: [...s.volumeIds] };
  }

  /**
   * Make `serverId` the Instance the code under test runs on (undefined: none): the metadata service
   * answers for it, and its SBS volumes appear as devices in `deviceDir` (local-server.ts).
   */
  setLocalServer(serverId: string | undefined): void {
    const previous = this.state.local.serverId ? this.state.servers.get(this.state.local.serverId) : undefined;
    for (const id of previous?.volumeIds ?? []) {
      const v = this.state.volumes.get(id);
      if (v) this.state.local.detached(v);
    }
    const s = serverId === undefined ? undefined : this.state.servers.get(serverId);
    if (serverId !== undefined && !s) throw notFound('instance_server', serverId);
    this.state.local.serverId = serverId;
    for (const id of s?.volumeIds ?? []) {
      const v = this.state.volumes.get(id);
      if (v && s) this.state.local.attached(s, v, this.state.disks.path(v.id));
    }
  }

  setDelays(d: Partial<Delays>): void {
    Object.assign(this.state.config.delays, d);
  }

  list(): EmulatorListing {
    const st = this.state;
    return {
      volumes: [...st.volumes.values()].map(volumeInfo),
      blockSnapshots: [...st.blockSnapshots.values()].map((s) => ({ id: s.id, zone: s.zone, name: s.name, status: s.status, size: s.size, parentVolumeId: s.parentVolume?.id ?? null })),
      instanceSnapshots: [...st.instanceSnapshots.values()].map((s) => ({ id: s.id, zone: s.zone, name: s.name, state: s.state, size: s.size, baseVolumeId: s.baseVolume?.id ?? null })),
      servers: [...st.servers.values()].map((s) => ({ id: s.id, zone: s.zone, name: s.name, state: s.state, volumeIds: [...s.volumeIds] })),
      applications: [...st.applications.values()].map((a) => ({ id: a.id, name: a.name })),
      policies: [...st.policies.values()].map((p) => ({ id: p.id, name: p.name, applicationId: p.applicationId, permissionSetNames: p.rules.flatMap((r) => r.permissionSetNames) })),
      apiKeys: [...st.apiKeys.values()].map((k) => ({ accessKey: k.accessKey, applicationId: k.applicationId })),
      faults: st.faults.describe(),
    };
  }

  private volume(id: string): VolumeRecord {
    const v = this.state.volumes.get(id);
    if (!v) throw notFound('volume', id);
    return v;
  }
}

function volumeInfo(v: VolumeRecord): VolumeInfo {
  return { id: v.id, zone: v.zone, type: v.type, size: v.size, name: v.name, projectId: v.projectId, tags: [...v.tags], status: v.status, serverId: v.attachment?.serverId ?? null };
}

function checkRange(v: VolumeRecord, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > v.size) {
    throw invalidRequest('offset', `range ${offset}+${length} is outside volume ${v.id} (${v.size} bytes)`);
  }
}

/** `/__admin/…` routes over an EmulatorAdmin. */
export function addAdminRoutes(router: Router, admin: EmulatorAdmin, state: EmulatorState): void {
  const A = '/__admin';
  router.add('GET', `${A}/state`, async (ctx) => sendJson(ctx.res, 200, admin.list()));
  router.add('GET', `${A}/requests`, async (ctx) => sendJson(ctx.res, 200, state.requests));

  router.add('POST', `${A}/volumes`, async (ctx) => {
    const b = await readJson(ctx.req);
    const info = await admin.createVolume({
      zone: stringOr(b.zone),
      projectId: stringOr(b.project_id),
      name: stringOr(b.name),
      tags: Array.isArray(b.tags) ? tagsOf(b.tags) : undefined,
      type: stringOr(b.type) as VolumeType | undefined,
      size: typeof b.size === 'number' ? b.size : undefined,
      fromFile: stringOr(b.from_file),
      bytes: typeof b.bytes_base64 === 'string' ? Buffer.from(b.bytes_base64, 'base64') : undefined,
    });
    sendJson(ctx.res, 201, info);
  });

  router.add('GET', `${A}/volumes/:id/data`, async (ctx) => {
    const id = ctx.params.id;
    const size = admin.volumeInfo(id).size;
    const toFile = ctx.query.get('to_file');
    if (toFile) {
      await admin.readVolumeToFile(id, toFile);
      sendJson(ctx.res, 200, { path: toFile, size });
      return;
    }
    const offset = Number(ctx.query.get('offset') ?? '0');
    const length = ctx.query.has('length') ? Number(ctx.query.get('length')) : size - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw invalidRequest('offset', `range ${offset}+${length} is outside volume ${id} (${size} bytes)`);
    }
    ctx.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': length });
    if (length === 0) {
      ctx.res.end();
      return;
    }
    await pipeline(createReadStream(state.disks.path(id), { start: offset, end: offset + length - 1 }), ctx.res);
  });

  router.add('PUT', `${A}/volumes/:id/data`, async (ctx) => {
    const bytes = await readBody(ctx.req, 1024 * 1024 * 1024);
    await admin.writeVolume(ctx.params.id, Number(ctx.query.get('offset') ?? '0'), bytes);
    sendNoContent(ctx.res);
  });

  router.add('GET', `${A}/snapshots/:id/data`, async (ctx) => {
    const bytes = await admin.readSnapshot(ctx.params.id);
    ctx.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    ctx.res.end(bytes);
  });

  router.add('POST', `${A}/servers`, async (ctx) => {
    const b = await readJson(ctx.req);
    const sg = asObject(b.security_group);
    const image = asObject(b.image);
    const info = admin.createServer({
      zone: stringOr(b.zone),
      name: stringOr(b.name),
      commercialType: stringOr(b.commercial_type),
      projectId: stringOr(b.project_id),
      volumeIds: Array.isArray(b.volume_ids) ? tagsOf(b.volume_ids) : undefined,
      bootVolumeId: stringOr(b.boot_volume_id),
      state: b.state === 'running' ? 'running' : undefined,
      tags: Array.isArray(b.tags) ? tagsOf(b.tags) : undefined,
      securityGroup: sg && typeof sg.id === 'string' ? { id: sg.id, name: stringOr(sg.name) ?? 'security group' } : undefined,
      privateNetworkIds: Array.isArray(b.private_network_ids) ? tagsOf(b.private_network_ids) : undefined,
      image: image && typeof image.id === 'string' ? { id: image.id, name: stringOr(image.name) ?? 'image' } : undefined,
    });
    sendJson(ctx.res, 201, info);
  });

  router.add('POST', `${A}/faults`, async (ctx) => {
    const b = await readJson(ctx.req);
    const fault = asObject(b.fault);
    const kinds: RequestFault['kind'][] = ['status', 'rate-limit', 'stall', 'slow', 'reset', 'quotas-exceeded', 'permissions-denied'];
    if (!fault || !kinds.includes(fault.kind as RequestFault['kind'])) throw invalidRequest('fault', `fault.kind must be one of ${kinds.join(', ')}`);
    const filter = asObject(b.filter) ?? {};
    const count = typeof b.count === 'number' ? b.count : 1;
    try {
      state.faults.failNext(count, fault as unknown as RequestFault, { method: stringOr(filter.method), path: stringOr(filter.path) } satisfies RequestFilter);
    } catch (err) {
      throw invalidRequest('count', err instanceof Error ? err.message : String(err));
    }
    sendNoContent(ctx.res);
  });

  router.add('POST', `${A}/operation-faults`, async (ctx) => {
    const b = await readJson(ctx.req);
    const kinds: OperationFault[] = ['export-stuck', 'export-error', 'import-error'];
    if (!kinds.includes(b.kind as OperationFault)) throw invalidRequest('kind', `kind must be one of ${kinds.join(', ')}`);
    state.faults.failNextOperation(b.kind as OperationFault, typeof b.count === 'number' ? b.count : 1);
    sendNoContent(ctx.res);
  });

  router.add('PUT', `${A}/buckets/:bucket/region`, async (ctx) => {
    const b = await readJson(ctx.req);
    state.faults.setBucketRegion(ctx.params.bucket, stringOr(b.region));
    sendNoContent(ctx.res);
  });

  router.add('DELETE', `${A}/faults`, async (ctx) => {
    state.faults.clear();
    sendNoContent(ctx.res);
  });

  router.add('PUT', `${A}/local-server`, async (ctx) => {
    const body = await readJson(ctx.req);
    admin.setLocalServer(stringOr(body.server_id));
    sendNoContent(ctx.res);
  });
  router.add('PUT', `${A}/delays`, async (ctx) => {
    const b: JsonObject = await readJson(ctx.req);
    const keys: [keyof Delays, string][] = [
      ['volumeCreate', 'volume_create_ms'],
      ['snapshotCreate', 'snapshot_create_ms'],
      ['export', 'export_ms'],
      ['import', 'import_ms'],
      ['serverAction', 'server_action_ms'],
    ];
    const d: Partial<Delays> = {};
    for (const [k, field] of keys) {
      const v = b[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || v < 0) throw new ApiError(400, { message: `${field} must be a number of milliseconds`, type: 'invalid_request_error' });
      d[k] = v;
    }
    admin.setDelays(d);
    sendJson(ctx.res, 200, { ...state.config.delays });
  });
}
