/**
 * A backup plan's shape as plain types (provider/plan.ts checks a plan against its schema and
 * asserts that schema gives exactly these): the package's declarations carry these, not zod's types,
 * which need `esModuleInterop` in the program's tsconfig (test/provider/package.test.ts).
 */

/** How many snapshots of a source the retention keeps (docs/OPERATIONS.md "Retention"). */
export interface PlanRetention {
  last?: number | undefined;
  hourly?: number | undefined;
  daily?: number | undefined;
  weekly?: number | undefined;
  monthly?: number | undefined;
  yearly?: number | undefined;
  within?: string | undefined;
}

/** One source of the plan: a volume or an Instance, where it stages, when it is due, what is kept. */
export interface PlanSource {
  /** Unique in the plan: how the summary names it. */
  name: string;
  kind: 'volume' | 'instance';
  zone: string;
  resourceId: string;
  bucket: string;
  stagingPrefix?: string | undefined;
  environment?: string | undefined;
  dataClass?: string | undefined;
  tags?: Record<string, string> | undefined;
  schedule: string;
  timeZone?: string | undefined;
  retention?: PlanRetention | undefined;
}

/** A plan: the store, the project, the sources and, when jobs run it, their cadence. */
export interface Plan {
  version: 1;
  store: {
    url: string;
    /** For s3:// stores; keys come from the environment. */
    s3?: { endpoint?: string | undefined; region?: string | undefined } | undefined;
  };
  scaleway: {
    projectId: string;
    apiUrl?: string | undefined;
    /** The staging buckets' S3 endpoint (default https://s3.REGION.scw.cloud). */
    s3Endpoint?: string | undefined;
  };
  sources: PlanSource[];
  /** When the plan runs: a BackupSchedule writes its jobs' cron here. */
  cadence?: { schedule: string; timeZone?: string | undefined } | undefined;
}
