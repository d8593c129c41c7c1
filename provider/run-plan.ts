/**
 * Execute a plan (plan.ts): for each source of this shard, read the store's view, and if a backup is
 * due by its schedule take it and apply its retention (source-ops.ts), at most `concurrency` sources
 * at once. One source failing does not stop the others; the result says what happened to each.
 * SIGTERM (a Serverless Job's timeout) stops it: no source starts any more, those running stop at
 * their next safe point and remove what they had created, and the result says which.
 */
import { InterruptedError, InvalidInputError } from '../engine';
import type { ConnectionOverrides, ScalewayConnection, StoreConnection } from './connection-types';
import type { Plan, PlanSource } from './plan';
import { planCadence, shardOf } from './plan';
import { dueAt, isDue, parseSchedule } from './schedule';
import { backupSource, readSource, sourceLocation, type BackupSourceInputs } from './source-ops';

export interface RunSecrets {
  passphrase: string;
  accessKey: string;
  secretKey: string;
}

export interface RunPlanOptions {
  shard?: { index: number; count: number };
  concurrency?: number;
  now?: Date;
  overrides?: ConnectionOverrides;
  /** Told when a source starts and ends (for progress lines). */
  onSource?: (event: SourceRun | { name: string; result: 'started' }) => void;
  /** Stops the run (SIGINT, SIGTERM): see above. */
  signal?: AbortSignal;
}

export interface SourceRun {
  name: string;
  location: string;
  /** `interrupted`: stopped by the run's signal (its error says what it removed); `not-started`: never begun. */
  result: 'backed-up' | 'not-due' | 'failed' | 'interrupted' | 'not-started';
  snapshotId?: string;
  /** For not-due: when it is due. */
  dueAt?: string;
  bytesNew?: number;
  error?: { code?: string; message: string };
  durationMs: number;
}

export interface PlanRunResult {
  shard: { index: number; count: number };
  sources: SourceRun[];
  backedUp: number;
  notDue: number;
  failed: number;
  interrupted: number;
}

/** The runner's connections: the plan's addresses and the environment's secrets. */
export function connectionsFor(plan: Plan, secrets: RunSecrets, env: NodeJS.ProcessEnv = process.env): { store: StoreConnection; scaleway: ScalewayConnection } {
  for (const [k, v] of [['SCW_ACCESS_KEY', secrets.accessKey], ['SCW_SECRET_KEY', secrets.secretKey]] as const) {
    if (!v) throw new InvalidInputError(k, 'not set: the runner needs the API key of the backup identity in its environment');
  }
  const s3 = plan.store.url.startsWith('s3://')
    ? { endpoint: plan.store.s3?.endpoint ?? env.SCW_BACKUP_S3_ENDPOINT, region: plan.store.s3?.region ?? env.SCW_DEFAULT_REGION, accessKey: secrets.accessKey, secretKey: secrets.secretKey }
    : undefined;
  return {
    store: { url: plan.store.url, passphrase: secrets.passphrase, ...(s3 ? { s3 } : {}) },
    scaleway: {
      accessKey: secrets.accessKey, secretKey: secrets.secretKey, projectId: plan.scaleway.projectId,
      apiUrl: plan.scaleway.apiUrl ?? env.SCW_API_URL, s3Endpoint: plan.scaleway.s3Endpoint ?? env.SCW_BACKUP_S3_ENDPOINT,
    },
  };
}

export function sourceInputs(s: PlanSource, c: { store: StoreConnection; scaleway: ScalewayConnection }): BackupSourceInputs {
  const { name, ...rest } = s;
  void name; // the plan's label, not an input of the source
  return { ...rest, store: c.store, scaleway: c.scaleway };
}

export async function runPlan(plan: Plan, secrets: RunSecrets, o: RunPlanOptions = {}): Promise<PlanRunResult> {
  const shard = o.shard ?? { index: 1, count: 1 };
  const concurrency = Math.max(1, Math.min(16, o.concurrency ?? 2));
  const now = o.now ?? new Date();
  const connections = connectionsFor(plan, secrets);
  const cadence = planCadence(plan);
  const queue = shardOf(plan, shard);
  const runs: SourceRun[] = [];

  const runOne = async (s: PlanSource): Promise<SourceRun> => {
    const started = Date.now();
    const inputs = sourceInputs(s, connections);
    const location = sourceLocation(inputs);
    o.onSource?.({ name: s.name, result: 'started' });
    try {
      const view = await readSource(inputs);
      const schedule = parseSchedule(s.schedule, s.timeZone ?? 'UTC');
      const last = view.lastSnapshotTime ? new Date(view.lastSnapshotTime) : undefined;
      if (!isDue(schedule, last, now, cadence)) {
        return { name: s.name, location, result: 'not-due', snapshotId: view.lastSnapshotId, dueAt: dueAt(schedule, last)?.toISOString(), durationMs: Date.now() - started };
      }
      const after = await backupSource(inputs, o.overrides, o.signal);
      return { name: s.name, location, result: 'backed-up', snapshotId: after.lastSnapshotId, bytesNew: after.bytesNew, durationMs: Date.now() - started };
    } catch (err) {
      if (err instanceof InterruptedError) {
        const cleanup = err.describeCleanup();
        return { name: s.name, location, result: 'interrupted', error: { code: err.code, message: cleanup ? `${err.message}; ${cleanup}` : err.message }, durationMs: Date.now() - started };
      }
      const e = err as { code?: string; message?: string };
      return { name: s.name, location, result: 'failed', error: { code: e.code, message: e.message ?? String(err) }, durationMs: Date.now() - started };
    }
  };

  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      const r: SourceRun = o.signal?.aborted
        ? { name: s.name, location: sourceLocation(sourceInputs(s, connections)), result: 'not-started', durationMs: 0 }
        : await runOne(s);
      runs.push(r);
      o.onSource?.(r);
    }
  });
  await Promise.all(workers);
  runs.sort((a, b) => a.name.localeCompare(b.name));
  return {
    shard, sources: runs,
    backedUp: runs.filter((r) => r.result === 'backed-up').length,
    notDue: runs.filter((r) => r.result === 'not-due').length,
    failed: runs.filter((r) => r.result === 'failed').length,
    interrupted: runs.filter((r) => r.result === 'interrupted' || r.result === 'not-started').length,
  };
}
