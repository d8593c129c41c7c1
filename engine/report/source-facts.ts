/**
 * One source's facts for the report (types.ts SourceReport), from its snapshots, its drills and its
 * policy: last backup against the RPO, the gaps past the RPO over the period, what is kept, the last
 * drill. Pure: the report's time and period are given.
 */
import { formatAge } from '../format';
import type { Drill } from '../store/drill-record';
import type { SnapshotSummary } from '../store/snapshot';
import type { DrillStatus, PolicyOrigin, Rpo, RpoGap, SourceReport } from './types';

/** Everything known of one source before its facts are worked out. */
export interface SourceHistory {
  name: string;
  location: string;
  hostname?: string;
  environment: string;
  dataClass: string;
  /** Its backups (for an Instance, its group manifests), oldest first. */
  snapshots: SnapshotSummary[];
  /** Guest size of the newest backup (an Instance's: its volumes'). */
  size: number;
  /** Bytes of its backups, an Instance's member volumes included. */
  stats: Array<{ time: string; bytesNew: number; bytesStored: number }>;
  /** Its drills (an Instance's: its volumes'), oldest start first. */
  drills: Drill[];
  rpo?: Rpo & { from: PolicyOrigin };
  retention?: { rules: Record<string, number | string>; from: PolicyOrigin };
}

/**
 * Gaps longer than the RPO between consecutive backups, counting the last backup before the period
 * (a gap that began before the period and ended in it is one of the period's), and the one still
 * open at `now`.
 */
export function rpoGaps(times: readonly number[], rpoMs: number, from: number, now: number): RpoGap[] {
  const gaps: RpoGap[] = [];
  const gap = (a: number, b: number, open: boolean): void => {
    if (b - a > rpoMs && b > from) gaps.push({ from: new Date(a).toISOString(), to: new Date(b).toISOString(), seconds: (b - a) / 1000, open });
  };
  for (let i = 1; i < times.length; i++) gap(times[i - 1], times[i], false);
  if (times.length > 0) gap(times[times.length - 1], now, true);
  return gaps;
}

function drillStatus(last: Drill | undefined): DrillStatus {
  return last === undefined ? 'missing' : last.result;
}

export function sourceFacts(h: SourceHistory, now: number, from: number): SourceReport {
  const times = h.snapshots.map((s) => Date.parse(s.time));
  const last = h.snapshots[h.snapshots.length - 1];
  const ageSeconds = last ? (now - Date.parse(last.time)) / 1000 : undefined;
  const rpoMet = h.rpo && ageSeconds !== undefined ? ageSeconds <= h.rpo.seconds : null;
  const status = !last ? 'no-backup' : !h.rpo ? 'no-rpo' : rpoMet ? 'ok' : 'overdue';
  const inPeriod = h.snapshots.filter((s) => Date.parse(s.time) >= from);
  const periodStats = h.stats.filter((s) => Date.parse(s.time) >= from);
  const lastDrill = h.drills[h.drills.length - 1];
  const attention: string[] = [];
  if (!last) attention.push('no backup at all');
  else if (rpoMet === false && h.rpo && ageSeconds !== undefined) attention.push(`backup overdue: the last one is ${formatAge(ageSeconds)} old, RPO ${h.rpo.text}`);
  if (lastDrill?.result === 'failed') attention.push(`last drill failed (${lastDrill.started.slice(0, 10)}): ${lastDrill.error?.message ?? 'no reason recorded'}`);
  else if (!lastDrill) attention.push('never drilled: no restore has been proven');
  return {
    name: h.name,
    location: h.location,
    ...(h.hostname !== undefined ? { hostname: h.hostname } : {}),
    environment: h.environment,
    dataClass: h.dataClass,
    rpo: h.rpo ?? null,
    retention: h.retention ?? null,
    status,
    lastBackup: last && ageSeconds !== undefined ? { snapshot: last.id, time: last.time, ageSeconds } : null,
    rpoMet,
    backups: inPeriod.map((s) => ({ snapshot: s.id, time: s.time })),
    gaps: h.rpo ? rpoGaps(times, h.rpo.seconds * 1000, from, now) : [],
    kept: { snapshots: h.snapshots.length, oldest: h.snapshots[0]?.time ?? null, newest: last?.time ?? null },
    bytes: {
      size: h.size,
      newInPeriod: periodStats.reduce((n, s) => n + s.bytesNew, 0),
      storedInPeriod: periodStats.reduce((n, s) => n + s.bytesStored, 0),
    },
    drillStatus: drillStatus(lastDrill),
    lastDrill: lastDrill ? {
      id: lastDrill.id, snapshot: lastDrill.snapshot, started: lastDrill.started, target: lastDrill.target, result: lastDrill.result,
      rtoSeconds: lastDrill.rtoSeconds, bytesVerified: lastDrill.bytesVerified, ...(lastDrill.error ? { error: lastDrill.error } : {}),
    } : null,
    drills: {
      total: h.drills.length,
      failed: h.drills.filter((d) => d.result === 'failed').length,
      inPeriod: h.drills.filter((d) => Date.parse(d.started) >= from).length,
    },
    attention,
  };
}
