/**
 * Restore an Instance backup group (instance-backup.ts): recreate every volume from the store, then
 * either create a new server with them, in the original order and with the original boot volume,
 * or put them on an existing server in place of its volumes (which are detached and kept). Local
 * volumes can only be attached to a stopped server: the server is stopped (and started again) only
 * when the caller allows it. A failure before the server holds the new volumes removes them; so does
 * a stop request (SIGINT, SIGTERM), honoured up to the creation of the server or the start of the
 * swap, never in the middle of a swap.
 */
import type { Instancev1 } from '@scaleway/sdk-instance';
import { BackupError, InvalidInputError } from '../errors';
import type { ProgressCallback } from '../progress';
import type { Repository } from '../store/repository';
import type { SnapshotSummary } from '../store/snapshot';
import { loadSnapshot } from '../store/snapshots';
import { restoreBlockVolume } from './block-restore';
import { FlowProgress, TAG, callOrNotFound, checkId, cleanupStep, interruptedWith, newCleanupReport, stamp, type CleanupReport } from './common';
import { checkZone, type ScalewayClients } from './config';
import { attachCleanup } from './export-backup';
import type { RestoreStaging } from './import-restore';
import { describeServer } from './instance-backup';
import { readGroup, type GroupMember } from './instance-group';
import { checkTransferable } from './limits';
import { restoreLocalVolume } from './local-restore';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

export interface InstanceRestoreOptions {
  /** The group manifest (a snapshot of kind scaleway-instance). */
  group: SnapshotSummary;
  zone: string;
  bucket: string;
  prefix?: string;
  /** Create a new server with this name holding the restored volumes... */
  newServerName?: string;
  /** ...or put them on this server, in place of its current volumes (detached, kept). */
  serverId?: string;
  /** The server must be stopped to swap its volumes: stop it (and start it after) only when true. */
  allowStop?: boolean;
  /** Commercial type of a new server (default the original's). */
  commercialType?: string;
  onProgress?: ProgressCallback;
  onVolume?: (index: number, volumeType: string) => void;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  now?: () => number;
  /** Largest volume Scaleway imports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  signal?: AbortSignal;
}

export interface RestoredMember {
  index: number;
  volumeId: string;
  name: string;
  volumeType: GroupMember['volumeType'];
  boot: boolean;
  fromSnapshot: string;
}

export interface InstanceRestoreResult {
  serverId: string;
  serverCreated: boolean;
  volumes: RestoredMember[];
  /** Volumes the existing server held before, now detached and kept. */
  detached: string[];
  /** Parts of the server the restore does not recreate (public IPs, private networks). */
  notRestored: string[];
  cleanup: CleanupReport;
}

/** The swap on an existing server stopped part-way: says what is where. */
export class InstanceRestoreIncompleteError extends BackupError {
  constructor(serverId: string, restored: string[], detached: string[], cause: unknown) {
    super('SCW_RESTORE_INCOMPLETE', `server ${serverId}: the restored volumes ${restored.join(', ')} exist and ${detached.length ? `its volumes ${detached.join(', ')} were detached (kept)` : 'none of its volumes was detached'}, but the swap then failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export async function restoreInstance(repo: Repository, clients: ScalewayClients, staging: RestoreStaging, options: InstanceRestoreOptions): Promise<InstanceRestoreResult> {
  const zone = checkZone(options.zone);
  const { server: original, members } = readGroup(options.group);
  if ((options.newServerName === undefined) === (options.serverId === undefined)) {
    throw new InvalidInputError('restore target', 'give either a new server name or the id of an existing server');
  }
  const { instance, block } = clients;
  const now = options.now ?? Date.now;
  const progress = new FlowProgress(options.onProgress);
  const warn = options.onWarning;

  // Refuse early, before anything is created: a running target the caller did not allow us to stop.
  let target: Awaited<ReturnType<typeof describeServer>> | undefined;
  if (options.serverId !== undefined) {
    target = await describeServer(clients, zone, checkId(options.serverId, 'server id'));
    if (target.state !== 'stopped' && !options.allowStop) {
      throw new InvalidInputError(`server ${target.id}`, `is ${target.state}: its volumes can only be swapped while it is stopped; allow the restore to stop it (--stop-server), or stop it first`);
    }
  }
  for (const m of members) checkTransferable(`volume ${m.index} (${m.name || m.volumeId}) of the group`, zone, m.size, 'restore', options.transferLimit);
  const snapshots = [];
  for (const m of members) snapshots.push(await loadSnapshot(repo, m.snapshotId));

  const time = stamp(now());
  const cleanup = newCleanupReport();
  const restored: RestoredMember[] = [];
  const failed = (err: unknown): unknown => (options.signal?.aborted ? interruptedWith(options.signal, err, cleanup) : attachCleanup(err, cleanup));
  const removeRestored = async () => {
    for (const v of restored) {
      const what = `volume ${v.volumeId}`;
      await cleanupStep(cleanup, what, () => callScaleway(`delete ${what}`, async () => {
        if (v.volumeType === 'l_ssd') await instance.deleteVolume({ zone, volumeId: v.volumeId });
        else await block.deleteVolume({ zone, volumeId: v.volumeId });
      }), warn);
    }
  };
  try {
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      options.onVolume?.(m.index, m.volumeType);
      const name = `${m.name || `${original.name}-vol${m.index}`}-restored-${time}`;
      const common = { snapshot: snapshots[i], zone, bucket: options.bucket, prefix: options.prefix, name, onProgress: options.onProgress, onWarning: warn, timeouts: options.timeouts, now, transferLimit: options.transferLimit, signal: options.signal };
      if (m.volumeType === 'l_ssd') {
        const r = await restoreLocalVolume(repo, clients, staging, common);
        restored.push({ index: m.index, volumeId: r.volume.id, name: r.volume.name, volumeType: 'l_ssd', boot: m.boot, fromSnapshot: m.snapshotId });
      } else {
        const r = await restoreBlockVolume(repo, clients, staging, { ...common, perfIops: m.perfIops });
        restored.push({ index: m.index, volumeId: r.volumeId, name: r.volumeName, volumeType: 'sbs_volume', boot: m.boot, fromSnapshot: m.snapshotId });
      }
    }
  } catch (err) {
    await removeRestored();
    throw failed(err);
  }

  const scratch = original.volumes.filter((v) => v.volumeType === 'scratch').map((v) => v.volumeId);
  const notRestored = [
    ...(scratch.length ? [`scratch volumes ${scratch.join(', ')} (never backed up)`] : []),
    ...(original.publicIps.length ? [`public IPs ${original.publicIps.join(', ')}`] : []),
    ...(original.privateNetworkIds.length ? [`private networks ${original.privateNetworkIds.join(', ')}`] : []),
  ];
  for (const n of notRestored) warn?.(`not restored (attach them by hand if wanted): ${n}`);

  if (!target) {
    progress.phase('creating-server');
    let created: Instancev1.Server | undefined;
    try {
      const volumes: Record<string, Instancev1.VolumeServerTemplate> = {};
      restored.forEach((v, i) => {
        volumes[String(i)] = { id: v.volumeId, volumeType: v.volumeType, boot: v.boot };
      });
      created = (await callScaleway(`create server ${options.newServerName}`, () => instance.createServer({
        zone, name: options.newServerName, commercialType: options.commercialType ?? original.commercialType, project: clients.profile.projectId,
        tags: [...original.tags.filter((t) => t !== TAG), TAG, 'scw-backup:restored'], volumes, protected: false, dynamicIpRequired: false,
        ...(original.securityGroup && original.zone === zone ? { securityGroup: original.securityGroup.id } : {}),
      }), { signal: options.signal })).server;
      if (!created) throw new Error(`the Instance API created server ${options.newServerName} without returning it`);
    } catch (err) {
      await removeRestored();
      throw failed(err);
    }
    progress.phase('done');
    return { serverId: created.id, serverCreated: true, volumes: restored, detached: [], notRestored, cleanup };
  }

  // An existing server: stop it if needed, swap its volumes, start it again if we stopped it.
  const serverId = target.id;
  const detached: string[] = [];
  let stoppedByUs = false;
  if (options.signal?.aborted) {
    await removeRestored();
    throw failed(options.signal.reason);
  }
  // From here the swap runs to its end: a server left half swapped is worse than a late stop.
  try {
    if (target.state !== 'stopped') {
      progress.phase('stopping-server');
      await serverAction(clients, zone, serverId, 'poweroff', 'stopped', options.timeouts);
      stoppedByUs = true;
    }
    progress.phase('attaching');
    // Its scratch volumes stay: they belong to its type, and there is nothing restored in their place.
    for (const v of target.volumes.filter((x) => x.volumeType !== 'scratch')) {
      await callOrNotFound('server', serverId, zone, `detach volume ${v.volumeId} from server ${serverId}`, () => instance.detachServerVolume({ zone, serverId, volumeId: v.volumeId }));
      detached.push(v.volumeId);
    }
    for (const v of restored) {
      await callOrNotFound('server', serverId, zone, `attach volume ${v.volumeId} to server ${serverId}`, () => instance.attachServerVolume({
        zone, serverId, volumeId: v.volumeId, volumeType: v.volumeType, boot: v.boot,
      }));
    }
    if (stoppedByUs) {
      progress.phase('starting-server');
      await serverAction(clients, zone, serverId, 'poweron', 'running', options.timeouts);
    }
  } catch (err) {
    if (detached.length === 0) {
      await removeRestored();
      throw attachCleanup(err, cleanup); // the swap runs without the signal: its failure is its own
    }
    throw new InstanceRestoreIncompleteError(serverId, restored.map((v) => v.volumeId), detached, err);
  }
  progress.phase('done');
  return { serverId, serverCreated: false, volumes: restored, detached, notRestored, cleanup };
}

async function serverAction(clients: ScalewayClients, zone: string, serverId: string, action: 'poweroff' | 'poweron', wanted: string, timeouts?: FlowTimeouts): Promise<void> {
  await callOrNotFound('server', serverId, zone, `${action} server ${serverId}`, () => clients.instance.serverAction({ zone, serverId, action }));
  await waitForStatus({
    resource: 'server', id: serverId, wanted, fetch: async () => (await clients.instance.getServer({ zone, serverId })).server,
    status: (s) => s?.state ?? 'missing', done: [wanted], failed: ['locked', 'missing'],
  }, phaseWait(timeouts, 'server'));
}
