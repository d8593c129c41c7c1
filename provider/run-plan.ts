/**
 * Execute a plan (plan.ts): list the store's snapshots once for the shard's sources, and for each
 * source whose backup is due by its schedule take it and apply its retention (source-ops.ts), at
 * most `concurrency` sources at once. One source failing does not stop the others; the result says
 * what happened to each.
 * SIGTERM (a Serverless Job's timeout) stops it: no source starts any more, those running stop at
 * their next safe point and remove what they had created, and the result says which.
 */
import { InterruptedError, InvalidInputError, listSnapshots, readSnapshotFiles, type SnapshotSummary } from '../engine';
import { withStore } from './connection';
import type { ConnectionOverrides, ScalewayConnection, StoreConnection } from './connection-types';
import type { Plan, PlanSource } from './plan';
import { planCadence, shardOf } from './plan';
import { dueAt, isDue, parseSchedule } from './schedule';
import { backupSource, sourceLocation, type BackupSourceInputs } from './source-ops';

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

/**
 * The newest snapshot of each location whose manifest reads, from one open of the store and one
 * listing of its catalog. (A run used to open the store and list every snapshot once per source:
 * for 200 sources of a 20,000-snapshot store, 200 listings, ~0.2 s each.) The catalog vouches for
 * summaries, not for the manifests behind them (docs/FORMAT.md §8.2): each location's manifests are
 * read newest first, all locations at once, until one reads. So a damaged or vanished newest one
 * makes its source due, as the Pulumi read (source-ops.ts) counts only readable snapshots.
 */
export async function newestReadable(store: StoreConnection, locations: readonly string[]): Promise<Map<string, SnapshotSummary | undefined>> {
  return withStore(store, async (repo) => {
    const newest = new Map<string, SnapshotSummary | undefined>(locations.map((l) => [l, undefined]));
    const untried = new Map<string, SnapshotSummary[]>(); // oldest first, as listed
    for (const s of (await listSnapshots(repo)).snapshots) {
      if (!newest.has(s.source.location)) continue;
      const list = untried.get(s.source.location);
      if (list) list.push(s);
      else untried.set(s.source.location, [s]);
    }
    for (let open = [...untried.values()]; open.length > 0; open = open.filter((list) => list.length > 0)) {
      const tries = open.map((list) => list.pop() as SnapshotSummary);
      const read = new Set((await readSnapshotFiles(repo, tries.map((t) => t.id))).flatMap((r) => (r.ok ? [r.snapshot.id] : [])));
      open.forEach((list, i) => {
        if (!read.has(tries[i].id)) return;
        newest.set(tries[i].source.location, tries[i]);
        list.length = 0; // found: try no older one
      });
    }
    return newest;
  });
}

export async function runPlan(plan: Plan, secrets: RunSecrets, o: RunPlanOptions = {}): Promise<PlanRunResult> {
  const shard = o.shard ?? { index: 1, count: 1 };
  const concurrency = Math.max(1, Math.min(16, o.concurrency ?? 2));
  const now = o.now ?? new Date();
  const connections = connectionsFor(plan, secrets);
  const cadence = planCadence(plan);
  const queue = shardOf(plan, shard);
  const runs: SourceRun[] = [];
  // Which sources are due, from one listing before any starts. If it fails, every source that runs
  // fails with its error, as each failed with it when each listed on its own.
  const listing: { newest: Map<string, SnapshotSummary | undefined> } | { error: unknown } = queue.length === 0 || o.signal?.aborted
    ? { newest: new Map() }
    : await newestReadable(connections.store, queue.map((s) => sourceLocation(sourceInputs(s, connections)))).then((newest) => ({ newest }), (error: unknown) => ({ error }));

  const runOne = async (s: PlanSource): Promise<SourceRun> => {
    const started = Date.now();
    const inputs = sourceInputs(s, connections);
    const location = sourceLocation(inputs);
    o.onSource?.({ name: s.name, result: 'started' });
    try {
      if ('error' in listing) throw listing.error;
      const newest = listing.newest.get(location);
      const schedule = parseSchedule(s.schedule, s.timeZone ?? 'UTC');
      const last = newest ? new Date(newest.time) : undefined;
      if (!isDue(schedule, last, now, cadence)) {
        return { name: s.name, location, result: 'not-due', snapshotId: newest?.id, dueAt: dueAt(schedule, last)?.toISOString(), durationMs: Date.now() - started };
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
