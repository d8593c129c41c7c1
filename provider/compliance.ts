/**
 * The compliance facts of issue #20 for Pulumi resources: a BackupSource's outputs carry the report's
 * row for that source (engine/report/source-facts.ts, judged by the same rule: the schedule's RPO,
 * the newest backup, the newest drill of its snapshots), and a RestoreDrill writes the same drill
 * record as `scw-backup drill` (restore-ops.ts runDrill), so a stack's outputs, `pulumi preview` and
 * the report tell one story (docs/PULUMI.md "Compliance outputs", docs/REPORT.md "Pulumi").
 *
 * Outputs sit in the state and a refresh shows every output that changed: so they are facts that
 * change only when something happened (a backup, a drill, the RPO running out), never a running age.
 * `rpoDeadline` is when the newest backup stops meeting the RPO; `rpoMet` is that judgement as of the
 * last create, update or refresh. Plain functions over plain data, like the other *-ops.
 */
import { cronRpo, listDrills, listSnapshots, sourceReports, type Drill, type Rpo, type SnapshotSummary } from '../engine';
import { withStore } from './connection';
import { formatDuration, parseSchedule, type Schedule } from './schedule';
import { sourceLocation, type BackupSourceInputs } from './source-inputs';

/** A schedule as the RPO it promises: itself, or a cron schedule's longest interval (engine/report/rpo.ts). */
export function rpoOfSchedule(schedule: Schedule): Rpo {
  return schedule.kind === 'rpo' ? { seconds: schedule.ms / 1000, text: schedule.text } : cronRpo(schedule.text, schedule.timeZone);
}

/**
 * The schedule's RPO as the report reads an `rpo` tag (engine/report/build.ts: whole minutes, hours or
 * days): "4h" stays "4h", a daily cron's becomes "1d", a weekday one's "3d".
 */
export function rpoTag(i: Pick<BackupSourceInputs, 'schedule' | 'timeZone'>): string {
  const schedule = parseSchedule(i.schedule, i.timeZone ?? 'UTC');
  if (schedule.kind === 'rpo') return schedule.text.replace(/\s+/g, '');
  const seconds = rpoOfSchedule(schedule).seconds;
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  return `${Math.ceil(seconds / 60)}m`;
}

/** What a BackupSource's outputs carry of the report's row (docs/PULUMI.md "Compliance outputs"). */
export interface ComplianceOutputs {
  /** The RPO the schedule promises, in seconds (a cron schedule's: its longest interval). */
  rpoSeconds: number;
  /** ISO 8601: the newest backup's time plus the RPO, when it stops meeting the RPO; null without one. */
  rpoDeadline: string | null;
  /** The newest backup met the RPO when the outputs were read (create, update, refresh); null without one. */
  rpoMet: boolean | null;
  /** `passed`, `failed`, or `missing` (never drilled). */
  lastDrillResult: 'passed' | 'failed' | 'missing';
  /** The last drill's record (`drills/<id>`, what `scw-backup drills` lists); null without one. */
  lastDrillId: string | null;
  /** The last drill's RTO as recorded; null when it failed or there was none. */
  lastDrillRtoSeconds: number | null;
  /** ISO 8601: when the last drill started; null without one. */
  lastDrillTime: string | null;
}

/** The outputs' facts and the age they are judged by (an age is no output: it changes at every read). */
export interface ComplianceFacts extends ComplianceOutputs {
  lastBackupAgeSeconds: number | null;
}

type SourceRef = Pick<BackupSourceInputs, 'kind' | 'zone' | 'resourceId' | 'schedule' | 'timeZone'>;

/**
 * The facts from what was read of the store: every readable snapshot (an Instance's volume snapshots
 * carry their own locations, and its drills are of those), oldest first, and every drill record.
 */
export function complianceFacts(i: SourceRef, read: { snapshots: SnapshotSummary[]; drills: Drill[] }, now: Date): ComplianceFacts {
  const location = sourceLocation(i);
  const rpo = rpoOfSchedule(parseSchedule(i.schedule, i.timeZone ?? 'UTC'));
  const at = now.getTime();
  const s = sourceReports({ now: at, from: at, snapshots: read.snapshots, drills: read.drills, expected: [{ name: location, location, rpo }] })
    .find((x) => x.location === location);
  const last = s?.lastBackup ?? null;
  const d = s?.lastDrill ?? null;
  return {
    rpoSeconds: rpo.seconds,
    rpoDeadline: last ? new Date(Date.parse(last.time) + rpo.seconds * 1000).toISOString() : null,
    rpoMet: last ? s?.rpoMet ?? null : null,
    lastBackupAgeSeconds: last?.ageSeconds ?? null,
    lastDrillResult: s?.drillStatus ?? 'missing',
    lastDrillId: d?.id ?? null,
    lastDrillRtoSeconds: d?.rtoSeconds ?? null,
    lastDrillTime: d?.started ?? null,
  };
}

/** The outputs' part of the facts. */
export function complianceOutputs(f: ComplianceFacts): ComplianceOutputs {
  const { lastBackupAgeSeconds: _age, ...outputs } = f;
  return outputs;
}

/**
 * Past the RPO: the words diff adds to its "backup due" reason, so that a preview says what
 * `rpoMet: false` and the report's "backup overdue" say. Undefined while the RPO is met.
 */
export function rpoMissed(i: Pick<BackupSourceInputs, 'schedule' | 'timeZone'>, last: Date | undefined, now: Date): string | undefined {
  if (!last) return undefined;
  const rpo = rpoOfSchedule(parseSchedule(i.schedule, i.timeZone ?? 'UTC'));
  const deadline = last.getTime() + rpo.seconds * 1000;
  return now.getTime() > deadline ? `past its RPO (${formatDuration(rpo.seconds * 1000)}) since ${new Date(deadline).toISOString()}` : undefined;
}

/** A source's compliance facts, read from the store (what BackupSource's read computes, with the age). */
export async function complianceOf(i: SourceRef & Pick<BackupSourceInputs, 'store'>, now = new Date()): Promise<ComplianceFacts> {
  return withStore(i.store, async (repo) => complianceFacts(i, { snapshots: (await listSnapshots(repo)).snapshots, drills: (await listDrills(repo)).drills }, now));
}
