/**
 * What a BackupSource does, as plain async functions over plain data (docs/PULUMI.md): the dynamic
 * provider (provider/dynamic/) calls these, and tests drive them directly. `create` checks that the
 * Scaleway volume or Instance exists and takes the first backup; `diff` says why a backup is due
 * (schedule, a snapshot missing from the store, changed inputs); `update` takes it and applies the
 * retention; `read` reports the store's view; `delete` leaves every backup in place.
 */
import { forgetSnapshots, listSnapshots, parseRetentionDuration, type DamagedSnapshot, type RetentionPolicy, type Snapshot } from '../engine';
import { withScaleway, withStore, type ConnectionOverrides, type ScalewayConnection, type StoreConnection } from './connection';
import { dueAt, isDue, parseSchedule } from './schedule';

export type SourceKind = 'volume' | 'instance';

/** restic's keep rules, as plain numbers and a duration string ("30d", "1y2m") for `within`. */
export interface RetentionInput {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
}

export function retentionPolicy(r: RetentionInput): RetentionPolicy {
  const { within, ...counts } = r;
  return { ...counts, ...(within ? { within: parseRetentionDuration(within, 'retention.within') } : {}) };
}

export interface BackupSourceInputs {
  kind: SourceKind;
  zone: string;
  /** The volume id (Block Storage) or server id (Instance). */
  resourceId: string;
  /** Staging bucket for exports and imports (StagingBucket), in the zone's region. */
  bucket: string;
  stagingPrefix?: string;
  store: StoreConnection;
  scaleway: ScalewayConnection;
  environment?: string;
  dataClass?: string;
  tags?: Record<string, string>;
  /** An RPO ("24h") or a cron expression ("0 3 * * *"), see schedule.ts. */
  schedule: string;
  timeZone?: string;
  /** Keep rules applied to this source's snapshots after each backup (restic's forget). */
  retention?: RetentionInput;
  /** Take the first backup when the resource is created (default true; never with runner "job"). */
  backupOnCreate?: boolean;
  /**
   * Who takes the backups: `pulumi` (default: `pulumi up` does, when due) or `job` (a BackupSchedule's
   * Serverless Job does; Pulumi only watches, and reports a backup overdue by a whole period).
   */
  runner?: 'pulumi' | 'job';
}

export type SourceStatus = 'ok' | 'no-backup-yet' | 'missing-from-store' | 'damaged-in-store';

export interface BackupSourceOutputs extends BackupSourceInputs {
  /** The source's location in the store (snapshots' source.location). */
  location: string;
  lastSnapshotId?: string;
  lastSnapshotTime?: string;
  bytesRead?: number;
  bytesNew?: number;
  bytesStored?: number;
  snapshotCount: number;
  status: SourceStatus;
  /** When the resource was created: with runner `job`, an alarm is due if no backup follows it. */
  watchingSince?: string;
}

/** Inputs whose change alone calls for an update; the rest (connection details) only matter in the next call. */
const BACKUP_INPUTS: Array<keyof BackupSourceInputs> = ['kind', 'zone', 'resourceId', 'environment', 'dataClass', 'tags', 'schedule', 'timeZone', 'retention', 'runner'];
/** Inputs that name another source: a new resource, not an update. */
export const REPLACE_INPUTS: Array<keyof BackupSourceInputs> = ['kind', 'zone', 'resourceId'];

export function sourceLocation(i: Pick<BackupSourceInputs, 'kind' | 'zone' | 'resourceId'>): string {
  return `${i.kind === 'instance' ? 'scaleway-instance' : 'scaleway-block'}://${i.zone}/${i.resourceId}`;
}

/** Checks that need no network: a bad input fails before anything is created, naming the input. */
export function validateSource(i: BackupSourceInputs): void {
  if (i.kind !== 'volume' && i.kind !== 'instance') throw new Error(`kind: ${JSON.stringify(i.kind)} is not "volume" or "instance"`);
  if (i.runner !== undefined && i.runner !== 'pulumi' && i.runner !== 'job') throw new Error(`runner: ${JSON.stringify(i.runner)} is not "pulumi" or "job"`);
  if (!/^[a-z]{2}-[a-z]{3}-[1-9]$/.test(i.zone)) throw new Error(`zone: ${JSON.stringify(i.zone)} is not a Scaleway zone (e.g. fr-par-1)`);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(i.resourceId)) {
    throw new Error(`resourceId: ${JSON.stringify(i.resourceId)} is not a Scaleway ${i.kind === 'instance' ? 'server' : 'volume'} id (a UUID)`);
  }
  if (!i.bucket) throw new Error('bucket: a staging bucket is required (see StagingBucket)');
  if (!i.store?.url) throw new Error('store.url: the store location is required (see BackupStore)');
  parseSchedule(i.schedule, i.timeZone ?? 'UTC');
}

/** Labels of every snapshot of this source: the caller's tags plus environment and data class. */
function snapshotTags(i: BackupSourceInputs): Record<string, string> {
  return { ...i.tags, ...(i.environment ? { environment: i.environment } : {}), ...(i.dataClass ? { dataClass: i.dataClass } : {}) };
}

/** This source's own snapshots (for an Instance: its group manifests), oldest first. */
function ownSnapshots(i: BackupSourceInputs, all: Snapshot[]): Snapshot[] {
  const location = sourceLocation(i);
  return all.filter((s) => s.source.location === location);
}

/**
 * The store's view of the source (newest readable snapshot, count), whether snapshot `id` is still
 * there and readable, and the reason when its manifest is damaged (a damaged manifest cannot be
 * told apart by source, so it never counts as this source's backup).
 */
async function viewOf(i: BackupSourceInputs, id?: string): Promise<{ view: BackupSourceOutputs; present: boolean; damaged?: DamagedSnapshot }> {
  const { snapshots: all, damaged } = await withStore(i.store, (repo) => listSnapshots(repo));
  const own = ownSnapshots(i, all);
  const last = own[own.length - 1];
  const view: BackupSourceOutputs = {
    ...i, location: sourceLocation(i), snapshotCount: own.length, status: last ? 'ok' : 'no-backup-yet',
    ...(last ? { lastSnapshotId: last.id, lastSnapshotTime: last.time, bytesRead: last.stats.bytesRead, bytesNew: last.stats.bytesNew, bytesStored: last.stats.bytesStored } : {}),
  };
  return { view, present: id === undefined || all.some((s) => s.id === id), damaged: damaged.find((d) => d.id === id) };
}

/** The store's view of the source: newest snapshot and count. */
export async function readSource(i: BackupSourceInputs): Promise<BackupSourceOutputs> {
  return (await viewOf(i)).view;
}

/** Does the source exist, in our project? A clear error naming it when not. */
export async function checkSourceExists(i: BackupSourceInputs, overrides: ConnectionOverrides = {}): Promise<void> {
  await withScaleway(i.scaleway, i.zone, i.bucket, overrides, async (clients) => {
    const { describeServer, WrongProjectError, callOrNotFound } = await import('../engine/scaleway');
    if (i.kind === 'instance') {
      const server = await describeServer(clients, i.zone, i.resourceId);
      if (server.projectId !== i.scaleway.projectId) throw new WrongProjectError('server', i.resourceId, server.projectId, i.scaleway.projectId);
      return;
    }
    const volume = await callOrNotFound('volume', i.resourceId, i.zone, `read volume ${i.resourceId}`, () => clients.block.getVolume({ zone: i.zone, volumeId: i.resourceId }));
    if (volume.projectId !== i.scaleway.projectId) throw new WrongProjectError('volume', i.resourceId, volume.projectId, i.scaleway.projectId);
  });
}

/** Take a backup now, then apply the retention to this source's snapshots. `signal`: SIGTERM of a run (run-plan.ts). */
export async function backupSource(i: BackupSourceInputs, overrides: ConnectionOverrides = {}, signal?: AbortSignal): Promise<BackupSourceOutputs> {
  validateSource(i);
  await withStore(i.store, async (repo) => {
    const locations = await withScaleway(i.scaleway, i.zone, i.bucket, overrides, async (clients, staging) => {
      const { backupBlockVolume, backupInstance } = await import('../engine/scaleway');
      const common = { zone: i.zone, bucket: i.bucket, prefix: i.stagingPrefix, tags: snapshotTags(i), hostname: 'scw-backup-pulumi', signal };
      if (i.kind === 'volume') {
        await backupBlockVolume(repo, clients, staging, { ...common, volumeId: i.resourceId });
        return [sourceLocation(i)];
      }
      const r = await backupInstance(repo, clients, staging, { ...common, serverId: i.resourceId });
      return [sourceLocation(i), ...r.volumes.map((v) => v.snapshot.source.location)];
    });
    if (i.retention && Object.values(i.retention).some((v) => v !== undefined)) {
      await forgetSnapshots(repo, { policy: retentionPolicy(i.retention), groupBy: ['location'], locations, timeZone: i.timeZone, signal });
    }
  });
  return readSource(i);
}

/** Why an update is wanted: empty when nothing is due. `now` is injectable (tests advance it). */
export async function diffSource(olds: BackupSourceOutputs, news: BackupSourceInputs, now: Date): Promise<{ reasons: string[]; replaces: string[] }> {
  const reasons: string[] = [];
  const replaces = REPLACE_INPUTS.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
  if (replaces.length > 0) return { reasons: replaces.map((k) => `${k} changed`), replaces };
  for (const k of BACKUP_INPUTS) if (JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null)) reasons.push(`${k} changed`);
  const { view, present, damaged } = await viewOf(news, olds.lastSnapshotId);
  if (damaged) reasons.push(`the last snapshot ${damaged.id.slice(0, 12)} is damaged in the store (${damaged.message})`);
  else if (!present) reasons.push(`the last snapshot ${String(olds.lastSnapshotId).slice(0, 12)} is missing from the store`);
  const last = view.lastSnapshotTime ? new Date(view.lastSnapshotTime) : undefined;
  const schedule = parseSchedule(news.schedule, news.timeZone ?? 'UTC');
  if (news.runner === 'job') {
    // The job takes the backups; Pulumi raises the alarm once a whole period passed without one.
    const since = last ?? (olds.watchingSince ? new Date(olds.watchingSince) : undefined);
    const due = dueAt(schedule, since);
    if (since && due && now.getTime() >= due.getTime() + (due.getTime() - since.getTime())) {
      reasons.push(`backup overdue: the scheduled job has taken none since ${since.toISOString()}, schedule ${news.schedule}`);
    }
  } else if (isDue(schedule, last, now)) {
    reasons.push(last ? `backup due: the newest snapshot is from ${last.toISOString()}, schedule ${news.schedule}` : 'backup due: no snapshot in the store yet');
  }
  return { reasons, replaces: [] };
}

/** Create: check the source, then (unless told not to) take the first backup. */
export async function createSource(i: BackupSourceInputs, overrides: ConnectionOverrides = {}): Promise<BackupSourceOutputs> {
  validateSource(i);
  await checkSourceExists(i, overrides);
  const watchingSince = new Date().toISOString();
  if (i.backupOnCreate === false || i.runner === 'job') return { ...(await readSource(i)), watchingSince };
  return { ...(await backupSource(i, overrides)), watchingSince };
}

/** Update: take the backup (runner `pulumi`), or only refresh the store's view (runner `job`). */
export async function updateSource(olds: BackupSourceOutputs, i: BackupSourceInputs, overrides: ConnectionOverrides = {}): Promise<BackupSourceOutputs> {
  validateSource(i);
  const out = i.runner === 'job' ? await readSource(i) : await backupSource(i, overrides);
  return { ...out, watchingSince: olds.watchingSince };
}

/** After read: what `status` says when the last snapshot known to state is gone from the store. */
export async function refreshSource(olds: BackupSourceOutputs): Promise<BackupSourceOutputs> {
  const { view, present, damaged } = await viewOf(olds, olds.lastSnapshotId);
  const status = damaged ? 'damaged-in-store' as const : present ? undefined : 'missing-from-store' as const;
  return { ...view, watchingSince: olds.watchingSince, ...(status ? { status } : {}) };
}
