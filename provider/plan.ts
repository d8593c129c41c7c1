/**
 * A backup plan: the sources of a fleet with their schedules and retention, and the store, as one
 * JSON file that `scw-backup run --plan PLAN.json` executes (docs/PULUMI.md "Fleets"). Secrets are
 * never in the plan: the store passphrase and the API keys come from the runner's environment
 * (Serverless Jobs secret references, CI secrets).
 */
import { z } from '../engine/schema';
import { createHash } from 'node:crypto';
import { InvalidInputError } from '../engine';
import type { Plan, PlanSource } from './plan-types';
import { cadenceProblem, parseSchedule, type Schedule } from './schedule';

const retentionSchema = z.object({
  last: z.number().int().safe().nonnegative().optional(),
  hourly: z.number().int().safe().nonnegative().optional(),
  daily: z.number().int().safe().nonnegative().optional(),
  weekly: z.number().int().safe().nonnegative().optional(),
  monthly: z.number().int().safe().nonnegative().optional(),
  yearly: z.number().int().safe().nonnegative().optional(),
  within: z.string().optional(),
}).strict();

const sourceSchema = z.object({
  /** Unique in the plan: how the summary names it. */
  name: z.string().min(1).max(128),
  kind: z.enum(['volume', 'instance']),
  zone: z.string().regex(/^[a-z]{2}-[a-z]{3}-[1-9]$/, 'a Scaleway zone such as fr-par-1'),
  resourceId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a Scaleway id (UUID)'),
  bucket: z.string().min(3),
  stagingPrefix: z.string().optional(),
  environment: z.string().optional(),
  dataClass: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  schedule: z.string(),
  timeZone: z.string().optional(),
  retention: retentionSchema.optional(),
}).strict();

const planSchema = z.object({
  version: z.literal(1),
  store: z.object({
    url: z.string().min(1),
    /** For s3:// stores; keys come from the environment. */
    s3: z.object({ endpoint: z.string().optional(), region: z.string().optional() }).strict().optional(),
  }).strict(),
  scaleway: z.object({
    projectId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a Scaleway project id (UUID)'),
    apiUrl: z.string().optional(),
    /** The staging buckets' S3 endpoint (default https://s3.REGION.scw.cloud). */
    s3Endpoint: z.string().optional(),
  }).strict(),
  sources: z.array(sourceSchema),
  /**
   * When the plan runs (a BackupSchedule writes its jobs' cron here): a source is then backed up by
   * the last run before its deadline, and a source whose RPO the runs cannot meet is refused.
   */
  cadence: z.object({ schedule: z.string(), timeZone: z.string().optional() }).strict().optional(),
}).strict();

export type { Plan, PlanRetention, PlanSource } from './plan-types';

// The schema's type and the plain one are the same, both ways (the declarations name the plain one).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameAsSchema: Same<z.infer<typeof planSchema>, Plan> = true;
void sameAsSchema;

/** Parse and check a plan; errors name the file and the field (`sources[2].schedule`). */
export function parsePlan(json: unknown, file = 'plan'): Plan {
  const r = planSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new InvalidInputError(`${file}: ${where || '(top level)'}`, i.message);
  }
  const plan = r.data;
  const cadence = plan.cadence ? parsed(`${file}: cadence.schedule`, () => planCadence(plan) as Schedule) : undefined;
  const names = new Set<string>();
  plan.sources.forEach((s, i) => {
    if (names.has(s.name)) throw new InvalidInputError(`${file}: sources[${i}].name`, `"${s.name}" is used twice`);
    names.add(s.name);
    const schedule = parsed(`${file}: sources[${i}].schedule`, () => parseSchedule(s.schedule, s.timeZone ?? 'UTC', `sources[${i}].schedule`));
    const problem = cadence && cadenceProblem(schedule, cadence);
    if (problem) throw new InvalidInputError(`${file}: sources[${i}].schedule`, `${s.name}: ${problem.replace(/^runs/, 'jobs started on')}`);
  });
  return plan;
}

/** The plan's cadence, parsed (undefined when it has none). */
export function planCadence(plan: Plan): Schedule | undefined {
  return plan.cadence ? parseSchedule(plan.cadence.schedule, plan.cadence.timeZone ?? 'UTC', 'cadence') : undefined;
}

/** `fn`'s schedule, its error renamed to `input` (the field in the plan file). */
function parsed(input: string, fn: () => Schedule): Schedule {
  try {
    return fn();
  } catch (err) {
    throw new InvalidInputError(input, err instanceof Error ? err.message.replace(/^[^:]*: /, '') : String(err));
  }
}

/** `I/N` (1-based): which shard of how many. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > 1000 || index < 1 || index > count) {
    throw new InvalidInputError('--shard', `"${text}" is not I/N with 1 <= I <= N <= 1000 (e.g. 2/4)`);
  }
  return { index, count };
}

/**
 * The sources of shard I of N. Deterministic from the plan alone, whatever the order of its
 * sources: each source goes to the shard its key hashes to (SHA-256 of kind/zone/id), so N jobs
 * started at once split the fleet without talking to each other, and a source keeps its shard when
 * others are added or removed.
 */
export function shardOf(plan: Plan, shard: { index: number; count: number }): PlanSource[] {
  return plan.sources.filter((s) => {
    const h = createHash('sha256').update(`${s.kind}/${s.zone}/${s.resourceId.toLowerCase()}`).digest();
    return h.readUInt32BE(0) % shard.count === shard.index - 1;
  });
}
