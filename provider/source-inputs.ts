/**
 * A BackupSource's inputs and outputs as plain data (they sit in Pulumi's state as JSON), and the
 * checks that need no network. In a preview any input may be unknown (unknowns.ts): it is checked
 * when it is known, at the latest by the Check of the update that resolves it.
 */
import { InvalidInputError, parseRetentionDuration, type RetentionPolicy } from '../engine';
import type { ComplianceOutputs } from './compliance';
import type { ScalewayConnection, StoreConnection } from './connection-types';
import { cadenceProblem, parseSchedule } from './schedule';
import { isUnknown } from './unknowns';

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

export function hasRetention(r: RetentionInput | undefined): r is RetentionInput {
  return r !== undefined && r !== null && Object.values(r).some((v) => v !== undefined && v !== null);
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
  /**
   * How often `pulumi up` runs (the CI's schedule): an interval ("1h") or its cron ("0 * * * *").
   * With it, a backup is taken by the last run before the schedule's deadline instead of the first
   * run after it, and a cadence that cannot meet an RPO fails Check (docs/PULUMI.md "Schedule and
   * cadence").
   */
  cadence?: string;
  /** Keep rules applied to this source's snapshots after each backup (restic's forget). */
  retention?: RetentionInput;
  /** Take the first backup when the resource is created (default true; never with runner "job"). */
  backupOnCreate?: boolean;
  /**
   * Who takes the backups: `pulumi` (default: `pulumi up` does, when due) or `job` (a BackupSchedule's
   * Serverless Job does; Pulumi only watches, and reports a backup overdue by a whole period).
   */
  runner?: 'pulumi' | 'job';
  /** This resource's URN (BackupSource sets it): Diff files its reasons under it in the engine's log. */
  resourceUrn?: string;
}

export type SourceStatus = 'ok' | 'no-backup-yet' | 'missing-from-store' | 'damaged-in-store';

/** A snapshot the retention keeps: what the state promises the store holds. */
export interface RetainedSnapshot {
  id: string;
  /** ISO 8601, the snapshot's time. */
  time: string;
}

/**
 * The compliance facts (compliance.ts, docs/PULUMI.md "Compliance outputs") are optional: a state
 * written before them lacks them until its next update or refresh.
 */
export interface BackupSourceOutputs extends BackupSourceInputs, Partial<ComplianceOutputs> {
  /** The source's location in the store (snapshots' source.location). */
  location: string;
  lastSnapshotId?: string;
  lastSnapshotTime?: string;
  bytesRead?: number;
  bytesNew?: number;
  bytesStored?: number;
  snapshotCount: number;
  status: SourceStatus;
  /**
   * The snapshots the retention keeps, newest first, as of the last update (which records what the
   * store holds) or refresh (which keeps what went missing): drift is any of them the retention
   * still keeps that the store no longer holds.
   */
  retained?: RetainedSnapshot[];
  /** When the resource was created: with runner `job`, an alarm is due if no backup follows it. */
  watchingSince?: string;
}

/** Inputs that name another source: a new resource, not an update. */
export const REPLACE_INPUTS: Array<keyof BackupSourceInputs> = ['kind', 'zone', 'resourceId'];
/** Inputs whose change calls for a backup (the snapshots' labels, the schedule, the retention). */
export const BACKUP_INPUTS: Array<keyof BackupSourceInputs> = ['environment', 'dataClass', 'tags', 'schedule', 'timeZone', 'cadence', 'retention', 'runner'];
/**
 * How the source is reached: a change (a rotated key) is an update that only records the new values,
 * so that refresh and destroy, which run with the state's outputs, use them.
 */
export const CONNECTION_INPUTS: Array<keyof BackupSourceInputs> = ['bucket', 'stagingPrefix', 'store', 'scaleway'];

export function sourceLocation(i: Pick<BackupSourceInputs, 'kind' | 'zone' | 'resourceId'>): string {
  return `${i.kind === 'instance' ? 'scaleway-instance' : 'scaleway-block'}://${i.zone}/${i.resourceId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks that need no network: a bad input fails before anything is created, naming the input.
 * Unknown inputs (a preview) are skipped; the update's own Check sees them known.
 */
export function validateSource(i: BackupSourceInputs): void {
  const known = (v: unknown): boolean => !isUnknown(v);
  if (known(i.kind) && i.kind !== 'volume' && i.kind !== 'instance') throw new InvalidInputError('kind', `${JSON.stringify(i.kind)} is not "volume" or "instance"`);
  if (known(i.runner) && i.runner !== undefined && i.runner !== 'pulumi' && i.runner !== 'job') throw new InvalidInputError('runner', `${JSON.stringify(i.runner)} is not "pulumi" or "job"`);
  if (known(i.zone) && !/^[a-z]{2}-[a-z]{3}-[1-9]$/.test(i.zone)) throw new InvalidInputError('zone', `${JSON.stringify(i.zone)} is not a Scaleway zone (e.g. fr-par-1)`);
  if (known(i.resourceId) && !UUID.test(i.resourceId)) {
    throw new InvalidInputError('resourceId', `${JSON.stringify(i.resourceId)} is not a Scaleway ${i.kind === 'instance' ? 'server' : 'volume'} id (a UUID)`);
  }
  if (known(i.bucket) && !i.bucket) throw new InvalidInputError('bucket', 'a staging bucket is required (see StagingBucket)');
  if (known(i.store) && known(i.store?.url) && !i.store?.url) throw new InvalidInputError('store.url', 'the store location is required (see BackupStore)');
  if (!known(i.schedule) || !known(i.timeZone)) return;
  const timeZone = i.timeZone ?? 'UTC';
  const schedule = parseSchedule(String(i.schedule), timeZone);
  if (i.cadence === undefined || !known(i.cadence)) return;
  const problem = cadenceProblem(schedule, parseSchedule(String(i.cadence), timeZone, 'cadence'));
  if (problem) throw new InvalidInputError('cadence', problem);
}
