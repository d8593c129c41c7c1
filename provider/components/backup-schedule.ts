/**
 * A fleet's backups on a timer, inside Scaleway: the plan (provider/plan.ts) runs as Serverless Jobs,
 * one job definition per shard, each running `scw-backup run --shard I/N` on a cron. The plan travels
 * in plain env (it holds no secret); the store passphrase and the API key live in Secret Manager and
 * reach the jobs only as secret references.
 */
import * as pulumi from '@pulumi/pulumi';
import * as scaleway from '@pulumiverse/scaleway';
import { InvalidInputError } from '../../engine';
import { parsePlan, type Plan, type PlanSource } from '../plan';
import { parseSchedule } from '../schedule';
import type { BackupSourceArgs } from '../dynamic/backup-source';

/** Regions of Serverless Jobs (Serverless Jobs API, "Regions"); Secret Manager is in all three. */
export const SERVERLESS_JOBS_REGIONS = ['fr-par', 'nl-ams', 'pl-waw'] as const;
export type ServerlessJobsRegion = (typeof SERVERLESS_JOBS_REGIONS)[number];

/** A plan without its version: what a program writes. */
export interface RenderPlanArgs {
  store: Plan['store'];
  scaleway: Plan['scaleway'];
  sources: PlanSource[];
  /** When it runs; a BackupSchedule sets its cron here. */
  cadence?: Plan['cadence'];
}

/**
 * The plan `scw-backup run` executes, checked as the CLI will check it: a bad source fails
 * `pulumi up` naming its field (`plan: sources[2].zone`), not a job run at 3 a.m.
 */
export function renderPlan(args: RenderPlanArgs): Plan {
  // Spread, not picked field by field: a stray top-level key is reported by the strict schema.
  return parsePlan({ version: 1, ...args }, 'plan');
}

/** A BackupSource's declaration, as given to `new BackupSource(name, args)`, under its name. */
export interface DeclaredSource {
  name: string;
  args: Omit<BackupSourceArgs, 'store' | 'scaleway'>;
}

/**
 * The plan's arguments from the BackupSources a program declares (the same objects it passes to
 * `new BackupSource`): one declaration drives both the resource, with `runner: "job"`, and the job
 * that takes its backups. Connection details and secrets are left out (the plan carries none).
 */
export function planFromSources(store: Plan['store'], scalewayPlan: Plan['scaleway'], sources: readonly DeclaredSource[]): pulumi.Output<RenderPlanArgs> {
  const each = sources.map(({ name, args }) => pulumi.output({
    kind: args.kind, zone: args.zone, resourceId: args.resourceId, bucket: args.bucket, stagingPrefix: args.stagingPrefix,
    environment: args.environment, dataClass: args.dataClass, tags: args.tags, schedule: args.schedule, timeZone: args.timeZone,
    retention: args.retention,
  }).apply((a) => {
    // Absent optional inputs are left out, not sent as null.
    const defined = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined && v !== null));
    return { name, ...defined } as PlanSource;
  }));
  return pulumi.all(each).apply((list) => ({ store, scaleway: scalewayPlan, sources: list }));
}

/** The secrets the jobs need; each becomes a Secret Manager secret. */
export interface BackupScheduleSecrets {
  /** SCW_BACKUP_PASSWORD: the store passphrase. */
  storePassphrase: pulumi.Input<string>;
  /** SCW_ACCESS_KEY / SCW_SECRET_KEY: the API key the jobs run with (BackupIdentity), also the S3 store's. */
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
}

export interface BackupScheduleArgs {
  /** Job definition name prefix (lowercase letters, digits, dashes); shard I of N is `NAME-I-of-N`. */
  name: string;
  /** One of SERVERLESS_JOBS_REGIONS: where the jobs and their secrets live. */
  region: string;
  /** The project of the jobs and secrets; a UUID. Also the jobs' SCW_DEFAULT_PROJECT_ID. */
  projectId: pulumi.Input<string>;
  /** The scw-backup CLI image (the repository's Dockerfile), linux/amd64. */
  image: string;
  /** Jobs that split the plan's sources between them (1..50, default 1). */
  shards?: number;
  /** When the jobs start: a five-field cron (default every hour). Each run backs up what is due. */
  cron?: string;
  /** IANA time zone of `cron` (default Etc/UTC). */
  timeZone?: string;
  /**
   * mvCPU per job (70..6000, default 1000). Maxima: Serverless Jobs limits; the minima (70 mvCPU,
   * 128 MB) are Serverless Containers', Jobs documenting none.
   */
  cpuLimit?: number;
  /** MB per job (128..16384, default 2048). */
  memoryLimit?: number;
  /** Ephemeral disk per job in MiB (1..10240, default 1024): the engine streams, so little is needed. */
  localStorageMiB?: number;
  /** Sources a job backs up at once (1..16, default 2; `scw-backup run --concurrency`). */
  concurrency?: number;
  /** Kill a job run after this long (1..86400 s); absent: Scaleway's default. */
  timeoutSeconds?: number;
  /**
   * The plan, or renderPlan's arguments. Checked now when plain, when it resolves when an Output;
   * to build one from Outputs (a StoreBucket's url), wrap it: `pulumi.output({ store: { url }, ... })`.
   */
  plan: pulumi.Input<Plan> | pulumi.Input<RenderPlanArgs>;
  secrets: BackupScheduleSecrets;
}

/** Per secret: the jobs' environment variable, its BackupScheduleSecrets key, its resource name suffix. */
const SECRET_ENV = [
  ['SCW_BACKUP_PASSWORD', 'storePassphrase', 'store-passphrase'],
  ['SCW_ACCESS_KEY', 'accessKey', 'access-key'],
  ['SCW_SECRET_KEY', 'secretKey', 'secret-key'],
] as const;

export class BackupSchedule extends pulumi.ComponentResource {
  /** One per shard, shard 1 first. */
  readonly definitions: scaleway.job.Definition[];
  /** SCW_BACKUP_PASSWORD, SCW_ACCESS_KEY, SCW_SECRET_KEY, in that order. */
  readonly secrets: scaleway.secrets.Secret[];
  readonly secretVersions: scaleway.secrets.Version[];
  readonly definitionIds: pulumi.Output<string[]>;
  /** SCW_BACKUP_PLAN of every job: the checked plan as JSON. */
  readonly planJson: pulumi.Output<string>;

  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): a bad input then fails before anything is registered.
    const what = `BackupSchedule "${name}"`;
    const jobName = checkJobName(what, args.name);
    const region = checkRegion(what, args.region);
    const projectId = checkUuid(what, 'projectId', args.projectId);
    if (typeof args.image !== 'string' || args.image.trim() === '') {
      throw new InvalidInputError('image', `${what} needs the scw-backup image (e.g. rg.fr-par.scw.cloud/NAMESPACE/scw-backup:TAG)`);
    }
    const shards = checkInt(what, 'shards', args.shards ?? 1, 1, 50, '', 'jobs that split the sources');
    const timeZone = checkTimeZone(what, args.timeZone ?? 'Etc/UTC');
    const cron = checkCron(what, args.cron ?? '0 * * * *', timeZone);
    const cpuLimit = checkInt(what, 'cpuLimit', args.cpuLimit ?? 1000, 70, 6000, 'mvCPU', 'Serverless Jobs: at most 6 vCPU');
    const memoryLimit = checkInt(what, 'memoryLimit', args.memoryLimit ?? 2048, 128, 16384, 'MB', 'Serverless Jobs: at most 16 GB');
    const localStorage = checkInt(what, 'localStorageMiB', args.localStorageMiB ?? 1024, 1, 10240, 'MiB', 'Serverless Jobs: at most 10 GB');
    const concurrency = checkInt(what, 'concurrency', args.concurrency ?? 2, 1, 16, '', 'sources at once, scw-backup run --concurrency');
    const timeout = args.timeoutSeconds === undefined ? undefined
      : goDuration(checkInt(what, 'timeoutSeconds', args.timeoutSeconds, 1, 86_400, 'seconds', 'Serverless Jobs: at most 24h'));
    for (const [env, key] of SECRET_ENV) {
      const v: unknown = args.secrets?.[key];
      if (v === undefined || v === null || v === '') {
        throw new InvalidInputError(`secrets.${key}`, `${what} needs it: the jobs read it from ${env}`);
      }
    }
    // The jobs' cron is the plan's cadence: sources due before the next run are backed up by this one,
    // and a source whose RPO the cron cannot meet fails now, naming it.
    const plan = checkPlan(args.plan, { schedule: cron, timeZone });
    super('scw-backup:index:BackupSchedule', name, {}, opts);

    this.planJson = plan.apply((p) => JSON.stringify(p));

    // One secret per value, pinned by revision below: a new value is a new version, and the jobs are
    // updated to read it (a reference to "latest" would change nothing Pulumi can see).
    this.secrets = SECRET_ENV.map(([, key, suffix]) => new scaleway.secrets.Secret(`${name}-${suffix}-secret`, {
      name: `${jobName}-${suffix}`,
      description: `scw-backup: ${key} of the ${jobName} backup jobs`,
      region,
      projectId,
    }, { parent: this }));
    // The provider marks `data` secret too; we state it, so state never holds it in plain whatever
    // the provider version does.
    this.secretVersions = SECRET_ENV.map(([, key, suffix], k) => new scaleway.secrets.Version(`${name}-${suffix}-version`, {
      secretId: this.secrets[k].id,
      region,
      data: pulumi.secret(args.secrets[key]),
      description: `scw-backup: ${key}`,
    }, { parent: this }));

    this.definitions = [];
    for (let i = 1; i <= shards; i++) {
      this.definitions.push(new scaleway.job.Definition(`${name}-shard-${i}`, {
        name: `${jobName}-${i}-of-${shards}`,
        description: `scw-backup run, shard ${i} of ${shards}`,
        region,
        projectId,
        imageUri: args.image,
        // `scw-backup` on PATH (the Dockerfile links it) rather than the image's ENTRYPOINT: the job
        // says what it runs, whatever image it is given.
        startupCommands: ['scw-backup'],
        args: ['run', '--shard', `${i}/${shards}`, '--concurrency', String(concurrency), '--json'],
        cpuLimit,
        memoryLimit,
        localStorageCapacity: localStorage,
        timeout,
        cron: { schedule: cron, timezone: timeZone },
        env: {
          SCW_BACKUP_PLAN: this.planJson,
          SCW_DEFAULT_PROJECT_ID: projectId,
          SCW_DEFAULT_REGION: region,
        },
        secretReferences: SECRET_ENV.map(([env], k) => ({
          secretId: this.secretVersions[k].secretId,
          secretVersion: this.secretVersions[k].revision,
          environment: env,
        })),
      }, { parent: this }));
    }

    this.definitionIds = pulumi.all(this.definitions.map((d) => d.id));
    this.registerOutputs({ definitionIds: this.definitionIds, planJson: this.planJson });
  }
}

/**
 * The plan with the jobs' cadence, as an Output; a plain one is checked now (synchronous throw), an
 * Output when it resolves.
 */
function checkPlan(input: pulumi.Input<Plan> | pulumi.Input<RenderPlanArgs>, cadence: NonNullable<Plan['cadence']>): pulumi.Output<Plan> {
  const toPlan = (p: Plan | RenderPlanArgs): Plan => ('version' in p ? parsePlan({ ...p, cadence }, 'plan') : renderPlan({ ...p, cadence }));
  if (input === undefined || input === null) {
    throw new InvalidInputError('plan', 'is missing: pass a plan or renderPlan\'s { store, scaleway, sources }');
  }
  if (pulumi.Output.isInstance(input) || input instanceof Promise) {
    return pulumi.output(input as pulumi.Input<Plan | RenderPlanArgs>).apply((p) => toPlan(p as Plan | RenderPlanArgs));
  }
  return pulumi.output(toPlan(input as Plan | RenderPlanArgs));
}

/** Job names: lowercase letters, digits and dashes (Serverless Jobs console, "Create a job"). */
function checkJobName(what: string, name: unknown): string {
  if (typeof name === 'string' && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) return name;
  throw new InvalidInputError('name', `${JSON.stringify(name)} is not a job name; set ${what} name to lowercase letters, `
    + 'digits and dashes, starting and ending with a letter or digit');
}

function checkRegion(what: string, region: unknown): ServerlessJobsRegion {
  if (typeof region === 'string' && (SERVERLESS_JOBS_REGIONS as readonly string[]).includes(region)) {
    return region as ServerlessJobsRegion;
  }
  throw new InvalidInputError('region', `${JSON.stringify(region)} is not a Serverless Jobs region; `
    + `set ${what} region to one of ${SERVERLESS_JOBS_REGIONS.join(', ')}`);
}

function checkInt(what: string, input: string, n: number, min: number, max: number, unit: string, hint: string): number {
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  throw new InvalidInputError(input, `${String(n)} is not a whole number from ${min} to ${max}${unit ? ` ${unit}` : ''}; `
    + `set ${what} ${input} in that range (${hint})`);
}

function checkTimeZone(what: string, timeZone: unknown): string {
  try {
    if (typeof timeZone === 'string' && timeZone !== '') {
      new Intl.DateTimeFormat('en-US', { timeZone });
      return timeZone;
    }
  } catch {
    // RangeError: not an IANA zone; reported below.
  }
  throw new InvalidInputError('timeZone', `${JSON.stringify(timeZone)} is not an IANA time zone; set ${what} timeZone `
    + 'to one such as Europe/Paris (default Etc/UTC)');
}

/** A cron, never an RPO: Serverless Jobs starts runs on a cron; the sources' RPOs live in the plan. */
function checkCron(what: string, cron: unknown, timeZone: string): string {
  let kind: string;
  try {
    kind = parseSchedule(String(cron), timeZone, 'cron').kind;
  } catch (err) {
    throw new InvalidInputError('cron', (err as Error).message.replace(/^cron: /, ''));
  }
  if (kind !== 'cron') {
    throw new InvalidInputError('cron', `${JSON.stringify(cron)} is an RPO, not a cron; set ${what} cron to when the jobs start `
      + '(e.g. "0 * * * *": hourly) and put RPOs in the plan\'s sources');
  }
  return String(cron).trim();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Plain strings are checked now (synchronous throw); outputs when they resolve, failing the update. */
function checkUuid(what: string, input: string, value: pulumi.Input<string>): pulumi.Input<string> {
  const check = (v: unknown): string => {
    if (typeof v === 'string' && UUID.test(v)) return v;
    throw new InvalidInputError(input, `${JSON.stringify(v)} is not a UUID; set ${what} ${input} `
      + 'to the id shown in the Scaleway console (e.g. 11111111-2222-3333-4444-555555555555)');
  };
  const pending = pulumi.Output.isInstance(value) || value instanceof Promise;
  return pending ? pulumi.output(value).apply(check) : check(value);
}

/**
 * Seconds as Go's time.Duration.String() prints them (`1h0m0s`, `2m30s`, `45s`): the provider takes
 * and reads back that form, so writing it the same way leaves no diff.
 */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
