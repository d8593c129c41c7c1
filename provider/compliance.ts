/**
 * The compliance facts of issue #20 for Pulumi resources: what a BackupSource's outputs should carry
 * (last backup age, RPO met, last drill's RTO and result: the report's row for that source,
 * engine/report/source-compliance.ts), and a restore drill that records its result in the store
 * (engine/scaleway/drill-volume.ts). Plain async functions over plain data, like the other *-ops.
 *
 * Not wired into BackupSource and RestoreDrill yet: those files are being reworked by issue #17; the
 * wiring is a few lines once it lands (docs/REPORT.md, "Pulumi").
 */
import { cronRpo, sourceCompliance, type Rpo } from '../engine';
import { withScaleway, withStore, type ConnectionOverrides } from './connection';
import { pickSnapshot, type DrillInputs, type DrillOutputs } from './restore-ops';
import { parseSchedule, type Schedule } from './schedule';
import { sourceLocation, type BackupSourceInputs } from './source-ops';

/** A schedule as the RPO it promises: itself, or a cron schedule's longest interval (engine/report/rpo.ts). */
export function rpoOfSchedule(schedule: Schedule): Rpo {
  return schedule.kind === 'rpo' ? { seconds: schedule.ms / 1000, text: schedule.text } : cronRpo(schedule.text, schedule.timeZone);
}

export interface ComplianceOutputs {
  /** Seconds since the newest backup at the time of reading; null without one. */
  lastBackupAgeSeconds: number | null;
  /** The newest backup is within the schedule's RPO; null without one. */
  rpoMet: boolean | null;
  /** `passed`, `failed`, or `missing` (never drilled). */
  lastDrillResult: 'passed' | 'failed' | 'missing';
  /** The last drill's RTO; null when it failed or there was none. */
  lastDrillRtoSeconds: number | null;
  lastDrillTime: string | null;
}

/** A source's compliance facts, read from the store. */
export async function complianceOf(i: Pick<BackupSourceInputs, 'kind' | 'zone' | 'resourceId' | 'store' | 'schedule' | 'timeZone'>, now = new Date()): Promise<ComplianceOutputs> {
  const rpo = rpoOfSchedule(parseSchedule(i.schedule, i.timeZone ?? 'UTC'));
  const c = await withStore(i.store, (repo) => sourceCompliance(repo, sourceLocation(i), { rpo, now: now.getTime() }));
  return {
    lastBackupAgeSeconds: c.lastBackupAgeSeconds, rpoMet: c.rpoMet, lastDrillResult: c.drillStatus,
    lastDrillRtoSeconds: c.lastDrill?.rtoSeconds ?? null, lastDrillTime: c.lastDrill?.started ?? null,
  };
}

export interface RecordedDrillOutputs extends DrillOutputs {
  /** The drill record in the store (`drills/<id>`, docs/FORMAT.md §13). */
  drillId: string;
  result: 'passed' | 'failed';
}

/**
 * A RestoreDrill that leaves a drill record: restore to a scratch volume, verify every byte, delete
 * it, record the result. A failed drill is recorded, then thrown (the resource's create fails).
 */
export async function runRecordedDrill(i: DrillInputs, overrides: ConnectionOverrides = {}): Promise<RecordedDrillOutputs> {
  const src = i.source;
  if (src.kind !== 'volume') throw new Error('source.kind: restore drills of whole Instances are not supported yet; drill each volume');
  const r = await withStore(src.store, async (repo) => {
    const snapshot = await pickSnapshot(repo, src, i.snapshot);
    return withScaleway(src.scaleway, src.zone, src.bucket, overrides, async (clients, staging) => {
      const { drillVolume } = await import('../engine/scaleway');
      return drillVolume(repo, clients, staging, { snapshot, zone: src.zone, bucket: src.bucket, prefix: src.stagingPrefix });
    });
  });
  const d = r.record;
  if (d.result === 'failed') throw new Error(`restore drill of snapshot ${d.snapshot.slice(0, 12)} failed: ${d.error?.message} (recorded as drills/${r.id.slice(0, 12)})`);
  return {
    ...i, snapshotId: d.snapshot, rtoMs: Math.round((d.rtoSeconds ?? 0) * 1000), verifiedBytes: d.bytesVerified, chunks: r.chunks,
    drillId: r.id, result: d.result,
  };
}
