/**
 * What the emulator remembers: volumes (SBS and local), Block and Instance snapshots, servers and IAM
 * objects, as plain records. The JSON shapes the APIs answer with are built from these by the
 * *-json.ts modules; the bytes of volumes and snapshots live in the DiskStore under the same id.
 */
import { randomUUID } from 'node:crypto';

export type BlockVolumeType = 'sbs_5k' | 'sbs_15k';
/**
 * `scratch`: the local scratch storage of GPU Instance types, an Instance volume like `l_ssd` that
 * cannot be snapshotted (SDK: "`scratch` volumes types can't be shapshotted").
 */
export type VolumeType = BlockVolumeType | 'l_ssd' | 'scratch';

/** Volumes of the Instance API (local to a hypervisor), as opposed to SBS volumes of the Block API. */
export function isLocal(v: { type: VolumeType }): boolean {
  return v.type === 'l_ssd' || v.type === 'scratch';
}

export const PERF_IOPS: Record<BlockVolumeType, number> = { sbs_5k: 5000, sbs_15k: 15000 };

/** What every zoned, project-owned resource with a size and tags has. */
export interface ZonedResource {
  id: string;
  name: string;
  zone: string;
  projectId: string;
  organizationId: string;
  size: number;
  tags: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface VolumeRecord extends ZonedResource {
  type: VolumeType;
  /** Block `VolumeStatus` for SBS volumes (creating, available, in_use, error…); Instance `VolumeState` for l_ssd. */
  status: string;
  parentSnapshotId: string | null;
  lastDetachedAt: Date | null;
  /** The server it is attached to, and since when (the Block reference). */
  attachment: { serverId: string; referenceId: string; createdAt: Date } | null;
}

export interface SnapshotParent {
  id: string;
  name: string;
  type: VolumeType;
  status: string;
}

/** A Block Storage snapshot (SBS). */
export interface BlockSnapshotRecord extends ZonedResource {
  /** Block `SnapshotStatus`: creating, available, exporting, error… */
  status: string;
  volumeType: BlockVolumeType;
  parentVolume: SnapshotParent | null;
}

/** An Instance snapshot (of a local l_ssd volume, or imported from a bucket). */
export interface InstanceSnapshotRecord extends ZonedResource {
  /** Instance `SnapshotState`: snapshotting, importing, exporting, available, error… */
  state: string;
  volumeType: 'l_ssd';
  baseVolume: { id: string; name: string } | null;
  errorDetails: string | null;
}

export interface ServerRecord {
  id: string;
  name: string;
  zone: string;
  projectId: string;
  organizationId: string;
  commercialType: string;
  arch: string;
  image: { id: string; name: string } | null;
  /** Attached volume ids in server.volumes order: index 0 is "0". */
  volumeIds: string[];
  /** Volume ids flagged `boot: true` on attach. */
  bootVolumeIds: Set<string>;
  tags: string[];
  securityGroup: { id: string; name: string };
  privateNics: { id: string; privateNetworkId: string; macAddress: string; createdAt: Date }[];
  /** Instance `ServerState`. */
  state: string;
  stateDetail: string;
  macAddress: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface RuleRecord {
  id: string;
  permissionSetNames: string[];
  condition: string;
  projectIds: string[] | null;
  organizationId: string | null;
}

export interface ApplicationRecord {
  id: string;
  name: string;
  description: string;
  organizationId: string;
  tags: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface PolicyRecord {
  id: string;
  name: string;
  description: string;
  organizationId: string;
  tags: string[];
  applicationId: string | null;
  userId: string | null;
  groupId: string | null;
  noPrincipal: boolean;
  rules: RuleRecord[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ApiKeyRecord {
  accessKey: string;
  secretKey: string;
  applicationId: string | null;
  userId: string | null;
  description: string;
  defaultProjectId: string;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** How long each asynchronous transition takes (milliseconds). */
export interface Delays {
  /** Volume creating → available. */
  volumeCreate: number;
  /** Snapshot creating/snapshotting → available. */
  snapshotCreate: number;
  /** Export: exporting → available, added to the time the conversion and upload take. */
  export: number;
  /** Import: creating/importing → available, added to the conversion time. */
  import: number;
  /** Server starting/stopping → running/stopped. */
  serverAction: number;
}

export const DEFAULT_DELAYS: Delays = { volumeCreate: 20, snapshotCreate: 50, export: 50, import: 50, serverAction: 50 };

export function newId(): string {
  return randomUUID();
}

/** `fr-par-1` → `fr-par`. */
export function regionOfZone(zone: string): string {
  return zone.replace(/-[0-9]+$/, '');
}

export const ZONE_PATTERN = /^[a-z]{2}-[a-z]{3}-[1-9]$/;

/** Block API dates: `2026-05-18T09:54:17.403309Z` (microseconds, Z). */
export function blockDate(d: Date | null): string | null {
  return d === null ? null : d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Instance API dates: `2026-06-23T09:41:38.235612+00:00`. */
export function instanceDate(d: Date | null): string | null {
  return d === null ? null : d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** `page`/`page_size` (Block, IAM) or `per_page` (Instance) slicing; the default page size is 50. */
export function paginate<T>(items: T[], query: URLSearchParams, sizeParam: 'page_size' | 'per_page'): T[] {
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const size = Math.min(100, Math.max(1, Number(query.get(sizeParam) ?? '50') || 50));
  return items.slice((page - 1) * size, page * size);
}

/** True when `tags` holds every tag asked for (the emulator's reading of the `tags` filters). */
export function hasAllTags(tags: string[], wanted: string[]): boolean {
  return wanted.every((t) => tags.includes(t));
}

export function sortByOrder<T extends { name: string; createdAt: Date }>(items: T[], orderBy: string | null): T[] {
  const sorted = [...items];
  const order = orderBy ?? 'created_at_asc';
  const byName = order.startsWith('name');
  sorted.sort((a, b) => (byName ? a.name.localeCompare(b.name) : a.createdAt.getTime() - b.createdAt.getTime()));
  if (order.endsWith('_desc')) sorted.reverse();
  return sorted;
}
