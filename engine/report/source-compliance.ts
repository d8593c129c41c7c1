/**
 * One source's compliance facts, as the report states them (source-facts.ts), for callers that watch a
 * single source: a Pulumi BackupSource's outputs tell the same story as the report's row. Reads
 * manifests and drill records only, without a lock, as `snapshots` does.
 */
import { listDrills } from '../store/drill-record';
import type { Repository } from '../store/repository';
import { listSnapshots } from '../store/snapshots';
import { sourceReports } from './build';
import type { Rpo, SourceReport } from './types';

export interface SourceCompliance {
  /** Seconds since the newest backup; null without one. */
  lastBackupAgeSeconds: number | null;
  /** Within its RPO; null without a backup. */
  rpoMet: boolean | null;
  drillStatus: SourceReport['drillStatus'];
  /** The newest drill of the source's snapshots (an Instance's: of its volumes'). */
  lastDrill: { started: string; result: 'passed' | 'failed'; rtoSeconds: number | null } | null;
}

export async function sourceCompliance(repo: Repository, location: string, o: { rpo: Rpo; now?: number }): Promise<SourceCompliance> {
  const now = o.now ?? Date.now();
  // Every snapshot, not only this location's: an Instance's volume snapshots carry their own locations.
  const { snapshots } = await listSnapshots(repo);
  const { drills } = await listDrills(repo);
  const s = sourceReports({ now, from: now, snapshots, drills, expected: [{ name: location, location, rpo: o.rpo }] }).find((x) => x.location === location);
  const d = s?.lastDrill;
  return {
    lastBackupAgeSeconds: s?.lastBackup?.ageSeconds ?? null,
    rpoMet: s?.lastBackup ? s.rpoMet : null,
    drillStatus: s?.drillStatus ?? 'missing',
    lastDrill: d ? { started: d.started, result: d.result, rtoSeconds: d.rtoSeconds } : null,
  };
}
