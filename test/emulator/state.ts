/**
 * The emulator's world: its records, their disks, the S3 client, faults and background jobs, with
 * the lookups and state changes that several APIs share (a volume is an SBS volume to the Block API
 * and an attached volume to the Instance API).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DiskSource } from '../../engine/source/disk-source';
import type { DiskStore } from './disk-store';
import type { Faults } from './faults';
import { badField } from './fields';
import { invalidArguments, notFound, type ApiError } from './http';
import type { Jobs } from './jobs';
import type { LocalServer } from './local-server';
import {
  isLocal,
  newId,
  regionOfZone,
  ZONE_PATTERN,
  type ApiKeyRecord,
  type ApplicationRecord,
  type BlockSnapshotRecord,
  type Delays,
  type InstanceSnapshotRecord,
  type PolicyRecord,
  type ServerRecord,
  type VolumeRecord,
  type VolumeType,
  type ZonedResource,
} from './model';
import { bucketExists, type Qcow2Writer, type S3Settings } from './qcow2-io';

export interface EmulatorConfig {
  accessKey: string;
  secretKey: string;
  projectId: string;
  organizationId: string;
  /** Region of the S3 server: buckets live there unless a fault says otherwise. */
  s3Region: string;
  qcow2Writer: Qcow2Writer;
  delays: Delays;
  /** The S3 server's multipart limits, for the exports the emulator uploads. */
  s3Limits?: S3Settings['limits'];
  /** Largest volume size a snapshot export or import accepts (bytes; Scaleway: 1 TB). */
  transferLimit: number;
}

/** One API request as the emulator saw it (for tests that count polls or retries). */
export interface SeenRequest {
  method: string;
  path: string;
  status: number;
  fault?: string;
}

/** Errors in the standard form (Block, IAM) or the legacy one (Instance). */
export type ErrorStyle = 'standard' | 'legacy';

export class EmulatorState {
  readonly volumes = new Map<string, VolumeRecord>();
  readonly blockSnapshots = new Map<string, BlockSnapshotRecord>();
  readonly instanceSnapshots = new Map<string, InstanceSnapshotRecord>();
  readonly servers = new Map<string, ServerRecord>();
  readonly applications = new Map<string, ApplicationRecord>();
  readonly policies = new Map<string, PolicyRecord>();
  /** By access key. */
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  readonly requests: SeenRequest[] = [];

  constructor(
    readonly config: EmulatorConfig,
    readonly disks: DiskStore,
    readonly s3: S3Client,
    readonly faults: Faults,
    readonly jobs: Jobs,
    /** The server the code under test runs on, and its attached volumes' devices (local-server.ts). */
    readonly local: LocalServer,
  ) {}

  checkZone(zone: string): void {
    if (!ZONE_PATTERN.test(zone)) throw invalidArguments('zone', `"${zone}" is not a zone such as fr-par-1`, 'format');
  }

  /** The `:zone` of a zoned API path, checked. */
  zoneOf(ctx: { params: Record<string, string> }): string {
    this.checkZone(ctx.params.zone);
    return ctx.params.zone;
  }

  /** An SBS volume (Block API view). */
  blockVolume(zone: string, id: string): VolumeRecord {
    const v = this.volumes.get(id);
    if (!v || v.zone !== zone || isLocal(v)) throw notFound('volume', id);
    return v;
  }

  /** A local volume (Instance API view); SBS volumes are not Instance volumes (`instance_volume` not found). */
  localVolume(zone: string, id: string): VolumeRecord {
    const v = this.volumes.get(id);
    if (!v || v.zone !== zone || !isLocal(v)) throw notFound('instance_volume', id);
    return v;
  }

  blockSnapshot(zone: string, id: string): BlockSnapshotRecord {
    const s = this.blockSnapshots.get(id);
    if (!s || s.zone !== zone) throw notFound('snapshot', id);
    return s;
  }

  instanceSnapshot(zone: string, id: string): InstanceSnapshotRecord {
    const s = this.instanceSnapshots.get(id);
    if (!s || s.zone !== zone) throw notFound('instance_snapshot', id);
    return s;
  }

  server(zone: string, id: string): ServerRecord {
    const s = this.servers.get(id);
    if (!s || s.zone !== zone) throw notFound('instance_server', id);
    return s;
  }

  /** The fields every emulated volume and snapshot has: a new id, the default project, now. */
  newZonedResource(f: { zone: string; name: string; size: number; projectId?: string; tags?: string[] }): ZonedResource {
    const now = new Date();
    return {
      id: newId(), name: f.name, zone: f.zone, projectId: f.projectId ?? this.config.projectId, organizationId: this.config.organizationId,
      size: f.size, tags: f.tags ?? [], createdAt: now, updatedAt: now,
    };
  }

  /**
   * A new volume record with its disk: empty, or holding `source`'s bytes. The record is stored only
   * once the disk exists.
   */
  async addVolume(
    fields: { zone: string; name: string; type: VolumeType; size: number; projectId?: string; tags?: string[]; status: string; parentSnapshotId?: string | null },
    content?: { source: DiskSource } | { copyOf: string },
  ): Promise<VolumeRecord> {
    const v: VolumeRecord = {
      ...this.newZonedResource(fields),
      type: fields.type,
      status: fields.status,
      parentSnapshotId: fields.parentSnapshotId ?? null,
      lastDetachedAt: null,
      attachment: null,
    };
    if (content === undefined) await this.disks.createEmpty(v.id, v.size);
    else if ('source' in content) await this.disks.createFrom(v.id, content.source, v.size);
    else await this.disks.copy(content.copyOf, v.id, v.size);
    this.volumes.set(v.id, v);
    return v;
  }

  attach(server: ServerRecord, volume: VolumeRecord, boot: boolean): void {
    const now = new Date();
    volume.attachment = { serverId: server.id, referenceId: newId(), createdAt: now };
    if (!isLocal(volume)) volume.status = 'in_use';
    volume.updatedAt = now;
    server.volumeIds.push(volume.id);
    if (boot) server.bootVolumeIds.add(volume.id);
    server.updatedAt = now;
    this.local.attached(server, volume, this.disks.path(volume.id));
  }

  detach(server: ServerRecord, volume: VolumeRecord): void {
    const now = new Date();
    volume.attachment = null;
    volume.lastDetachedAt = now;
    if (!isLocal(volume)) volume.status = 'available';
    volume.updatedAt = now;
    server.volumeIds = server.volumeIds.filter((id) => id !== volume.id);
    server.bootVolumeIds.delete(volume.id);
    server.updatedAt = now;
    this.local.detached(volume);
  }

  /**
   * A bucket an export may write to or an import read from: it must exist and be in the region of
   * the zone (Scaleway: "the bucket must be in the same region as the snapshot"). The error chosen
   * for a bucket in another region or a missing bucket is the emulator's guess (see README).
   */
  async checkBucket(zone: string, bucket: unknown, style: ErrorStyle): Promise<string> {
    const bad = (msg: string): ApiError => badField(style, 'bucket', msg);
    if (typeof bucket !== 'string' || bucket.length === 0) throw bad('bucket is required');
    const region = this.faults.bucketRegion(bucket, this.config.s3Region);
    if (region !== regionOfZone(zone)) {
      throw bad(`bucket "${bucket}" is in region ${region}; it must be in the region of zone ${zone} (${regionOfZone(zone)})`);
    }
    if (!(await bucketExists(this.s3, bucket))) throw bad(`bucket "${bucket}" does not exist or is not reachable`);
    return bucket;
  }
}
