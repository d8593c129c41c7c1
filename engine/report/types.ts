/**
 * The compliance report's facts (docs/REPORT.md): what `scw-backup report --json` writes and what
 * the HTML page shows. Plain data, stable for other tools: fields are only ever added.
 */
import type { DamagedDrill } from '../store/drill-record';
import type { DamagedSnapshot } from '../store/snapshot-file';

/** A recovery point objective: the longest a source may go without a backup. */
export interface Rpo {
  seconds: number;
  /** As declared: "4h", or a cron expression whose longest interval gave `seconds`. */
  text: string;
}

/** Where a source's RPO and retention came from. */
export type PolicyOrigin = 'plan' | 'tag' | 'default';

/** What a source is expected to meet, from the plan, its tags, or the default table. */
export interface SourcePolicy {
  rpo?: Rpo;
  /** Keep rules, as `forget` reads them ({"daily": 7, "weekly": 4, "within": "30d"}). */
  retention?: Record<string, number | string>;
}

/** A source the report must show even without a backup (a plan's source). */
export interface ExpectedSource extends SourcePolicy {
  /** How the plan names it. */
  name: string;
  /** Its snapshots' `source.location` (scaleway-block://ZONE/ID, ...). */
  location: string;
  environment?: string;
  dataClass?: string;
}

export type BackupStatus = 'ok' | 'overdue' | 'no-backup' | 'no-rpo';
export type DrillStatus = 'passed' | 'failed' | 'missing';

/** A stretch longer than the RPO without a backup; `open` when it lasts until the report's time. */
export interface RpoGap {
  from: string;
  to: string;
  seconds: number;
  open: boolean;
}

export interface SourceReport {
  /** The plan's name, else the location (with the host for a local file). */
  name: string;
  location: string;
  /** For a local file: the host whose disk it is (a path alone names no disk). */
  hostname?: string;
  environment: string;
  dataClass: string;
  rpo: (Rpo & { from: PolicyOrigin }) | null;
  retention: { rules: Record<string, number | string>; from: PolicyOrigin } | null;
  status: BackupStatus;
  lastBackup: { snapshot: string; time: string; ageSeconds: number } | null;
  /** null when no RPO is known. */
  rpoMet: boolean | null;
  /** Backups in the period, oldest first. */
  backups: Array<{ snapshot: string; time: string }>;
  /** Gaps past the RPO in the period (one may have begun before it), oldest first. */
  gaps: RpoGap[];
  /** What the store keeps of this source: the restore points there are. */
  kept: { snapshots: number; oldest: string | null; newest: string | null };
  /** Guest bytes the backups of the period found new, and what storing them took (compressed, encrypted). */
  bytes: { size: number; newInPeriod: number; storedInPeriod: number };
  drillStatus: DrillStatus;
  lastDrill: {
    id: string; snapshot: string; started: string; target: string; result: 'passed' | 'failed'; rtoSeconds: number | null;
    bytesVerified: number; error?: { code: string; message: string };
  } | null;
  drills: { total: number; failed: number; inPeriod: number };
  /** Why it stands out (overdue, no backup, failed or missing drill); empty when it does not. */
  attention: string[];
}

export interface PruneForecast {
  ok: boolean;
  /** Stored bytes of the packs a prune would delete or rewrite (it writes back their used part). */
  bytesRemoved: number;
  packsRemoved: number;
  packsRepacked: number;
  drillRecordsRemoved: number;
  /** Why a prune would refuse (ok false). */
  refused?: string;
}

export interface StoreReport {
  location: string;
  formatVersion: number;
  snapshots: number;
  packs: number;
  /** Stored bytes of every pack. */
  packBytes: number;
  /** Guest data the readable snapshots describe (their disks less their holes). */
  logicalBytes: number;
  /** Plaintext of the distinct data chunks the index lists. */
  uniqueBytes: number;
  /** logicalBytes / uniqueBytes (null without data). */
  dedupRatio: number | null;
  /** uniqueBytes / the stored size of those chunks. */
  compressionRatio: number | null;
  /** Per day of the period (UTC): bytes stored by the backups still in the store, up to that day's end. */
  growth: Array<{ date: string; storedBytes: number }>;
  drills: number;
  prune: PruneForecast;
}

export interface ComplianceReport {
  version: 1;
  generated: string;
  period: { from: string; to: string };
  store: StoreReport;
  /** Sources that stand out, worst first (no backup, overdue, failed drill, missing drill). */
  attention: Array<{ name: string; location: string; reasons: string[] }>;
  /** Sources by environment, then data class (names sorted; "unspecified" last). */
  groups: Array<{ environment: string; dataClass: string; sources: SourceReport[] }>;
  damaged: { snapshots: DamagedSnapshot[]; drills: DamagedDrill[] };
}
