/**
 * Back up every volume of an Instance as one group (docs/SCALEWAY.md "Instances"): each volume is a
 * snapshot of its own (SBS volumes through Block Storage, local `l_ssd` ones through the Instance
 * API), all with the group's time and id; then a group manifest, last, records the server and its
 * members. A failure removes the member manifests already saved: a group is whole or absent.
 */
import { randomBytes } from 'node:crypto';
import { InvalidInputError, NotFoundError } from '../errors';
import { removeSnapshots } from '../forget';
import { Lock } from '../store/locks';
import type { Repository } from '../store/repository';
import type { Snapshot, SnapshotManifest, SnapshotStats } from '../store/snapshot';
import { currentHost, saveSnapshot } from '../store/snapshots';
import { backupBlockVolume, type BlockBackupOptions, type BlockBackupResult } from './block-backup';
import { callOrNotFound, checkId } from './common';
import { checkZone, type ScalewayClients } from './config';
import { WrongProjectError } from './errors';
import type { BackupStaging } from './export-backup';
import { GROUP_FORMAT, INSTANCE_KIND, type GroupMember, type ServerDescription } from './instance-group';
import { checkTransferable } from './limits';
import { callScaleway } from './wait';
import { backupLocalVolume } from './local-backup';

/** As for one volume (block-backup.ts), for every volume of `serverId`. */
export interface InstanceBackupOptions extends Omit<BlockBackupOptions, 'volumeId' | 'extraDetails' | 'time'> {
  serverId: string;
  /** Before each volume: its index, id and type. */
  onVolume?: (index: number, volumeId: string, volumeType: string) => void;
}

export interface InstanceBackupResult {
  /** The group manifest (no disk of its own). */
  group: Snapshot;
  server: ServerDescription;
  volumes: Array<BlockBackupResult & { index: number; boot: boolean; volumeType: GroupMember['volumeType'] }>;
}

const SUPPORTED = new Set(['sbs_volume', 'l_ssd']);

/** What the group manifest says about the server: enough to create a like one. */
export async function describeServer(clients: ScalewayClients, zone: string, serverId: string): Promise<ServerDescription> {
  const { server } = await callOrNotFound('server', serverId, zone, `read server ${serverId} in ${zone}`, () => clients.instance.getServer({ zone, serverId }));
  if (!server) throw new NotFoundError(`server ${serverId} not found in ${zone}`);
  const volumes = Object.entries(server.volumes)
    .map(([k, v]) => ({ index: Number(k), volumeId: v.id, name: v.name ?? '', volumeType: v.volumeType, size: v.size ?? 0, boot: v.boot }))
    .sort((a, b) => a.index - b.index);
  return {
    id: server.id, name: server.name, zone, projectId: server.project, commercialType: server.commercialType, state: server.state,
    image: server.image ? { id: server.image.id, name: server.image.name } : undefined,
    tags: server.tags, bootType: server.bootType,
    securityGroup: server.securityGroup ? { id: server.securityGroup.id, name: server.securityGroup.name } : undefined,
    privateNetworkIds: server.privateNics.map((n) => n.privateNetworkId),
    publicIps: server.publicIps.map((ip) => ip.address).filter((a): a is string => typeof a === 'string'),
    volumes,
  };
}

export async function backupInstance(repo: Repository, clients: ScalewayClients, staging: BackupStaging, options: InstanceBackupOptions): Promise<InstanceBackupResult> {
  const zone = checkZone(options.zone);
  const serverId = checkId(options.serverId, 'server id');
  const server = await describeServer(clients, zone, serverId);
  if (server.projectId !== clients.profile.projectId) throw new WrongProjectError('server', serverId, server.projectId, clients.profile.projectId);
  // Scratch volumes (GPU types' local scratch storage) cannot be snapshotted (SDK serverAction doc:
  // "`scratch` volumes types can't be shapshotted"): skipped, said, and recorded in the server's description.
  const volumes = server.volumes.filter((v) => v.volumeType !== 'scratch');
  for (const v of server.volumes) {
    if (v.volumeType === 'scratch') options.onWarning?.(`volume ${v.index} (${v.volumeId}) of server ${serverId} is a scratch volume: not backed up (scratch volumes cannot be snapshotted, and a new server of a GPU type comes with its own)`);
  }
  if (volumes.length === 0) throw new InvalidInputError(`server ${serverId}`, 'has no volumes to back up (scratch volumes are not)');
  const unsupported = volumes.filter((v) => !SUPPORTED.has(v.volumeType));
  if (unsupported.length > 0) {
    throw new InvalidInputError(`server ${serverId}`, `volume ${unsupported[0].volumeId} is of type ${unsupported[0].volumeType}: only sbs_volume (Block Storage) and l_ssd (local) volumes can be backed up`);
  }
  // Every volume within Scaleway's export limit, before the first snapshot (SBS entries of
  // server.volumes carry no size: the Block API says).
  for (const v of volumes) {
    const size = v.volumeType === 'l_ssd' ? v.size : (await callScaleway(`read volume ${v.volumeId}`, () => clients.block.getVolume({ zone, volumeId: v.volumeId }))).size;
    checkTransferable(`volume ${v.volumeId} of server ${serverId}`, zone, size, 'back up', options.transferLimit);
  }
  const now = options.now ?? Date.now;
  const time = new Date(now());
  const groupId = randomBytes(8).toString('hex');
  const done: InstanceBackupResult['volumes'] = [];
  try {
    for (const v of volumes) {
      options.onVolume?.(v.index, v.volumeId, v.volumeType);
      const backup = v.volumeType === 'l_ssd' ? backupLocalVolume : backupBlockVolume;
      const r = await backup(repo, clients, staging, {
        zone, volumeId: v.volumeId, bucket: options.bucket, prefix: options.prefix, tags: options.tags, keepNativeSnapshot: options.keepNativeSnapshot,
        onProgress: options.onProgress, onWarning: options.onWarning, timeouts: options.timeouts, staleAfterMs: options.staleAfterMs, now,
        hostname: options.hostname, workers: options.workers, time, transferLimit: options.transferLimit, signal: options.signal,
        extraDetails: { groupId, serverId, serverName: server.name, volumeIndex: v.index, boot: v.boot },
      });
      done.push({ ...r, index: v.index, boot: v.boot, volumeType: v.volumeType === 'l_ssd' ? 'l_ssd' : 'sbs_volume' });
    }
    const members: GroupMember[] = done.map((d) => ({
      index: d.index, snapshotId: d.snapshot.id, volumeId: d.volume.id, name: d.volume.name, volumeType: d.volumeType, size: d.volume.size, boot: d.boot,
      ...(typeof d.snapshot.source.perfIops === 'number' ? { perfIops: d.snapshot.source.perfIops } : {}),
    }));
    const group = await saveGroup(repo, { server, members, groupId, time, tags: options.tags ?? {}, hostname: options.hostname, stats: sumStats(done.map((d) => d.snapshot.stats)), signal: options.signal });
    return { group, server, volumes: done };
  } catch (err) {
    await dropMembers(repo, done.map((d) => d.snapshot.id), err, options.onWarning);
    throw err;
  }
}

async function saveGroup(
  repo: Repository,
  g: { server: ServerDescription; members: GroupMember[]; groupId: string; time: Date; tags: Record<string, string>; hostname?: string; stats: SnapshotStats; signal?: AbortSignal },
): Promise<Snapshot> {
  const host = currentHost();
  const manifest: SnapshotManifest = {
    version: 1,
    time: g.time.toISOString(),
    hostname: g.hostname ?? host.hostname,
    username: host.username,
    source: {
      kind: INSTANCE_KIND, format: GROUP_FORMAT, location: `scaleway-instance://${g.server.zone}/${g.server.id}`,
      zone: g.server.zone, projectId: g.server.projectId, serverId: g.server.id, serverName: g.server.name, groupId: g.groupId,
      server: JSON.stringify(g.server), members: JSON.stringify(g.members),
    },
    tags: g.tags,
    size: 0,
    chunker: repo.config.chunker,
    map: [],
    stats: g.stats,
  };
  // Under a shared lock, like a backup's own manifest: forget and prune see it whole or not at all.
  const lock = await Lock.take(repo, false, { signal: g.signal });
  try {
    const id = await saveSnapshot(repo, manifest);
    return { id, ...manifest };
  } finally {
    await lock.release();
  }
}

function sumStats(all: SnapshotStats[]): SnapshotStats {
  const total: SnapshotStats = { bytesRead: 0, bytesNew: 0, bytesStored: 0, chunks: 0, newChunks: 0, holeBytes: 0, durationMs: 0 };
  for (const s of all) for (const k of Object.keys(total) as Array<keyof SnapshotStats>) total[k] += s[k];
  return total;
}

/** A group that failed part-way: remove its member manifests (their data goes at the next prune). */
async function dropMembers(repo: Repository, ids: string[], cause: unknown, warn?: (message: string) => void): Promise<void> {
  if (ids.length === 0) return;
  try {
    const r = await removeSnapshots(repo, ids);
    if (r.notRemoved.length > 0) throw new Error(r.notRemoved.map((n) => `${n.id}: ${n.message}`).join('; '));
  } catch (err) {
    const msg = `the group's volume snapshots ${ids.map((i) => i.slice(0, 12)).join(', ')} could not all be removed after the failure (remove them with "forget"): ${err instanceof Error ? err.message : String(err)}`;
    warn?.(msg);
    if (cause instanceof Error) cause.message += `; ${msg}`;
  }
}
