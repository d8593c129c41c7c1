/**
 * BackupSource: one Scaleway Block Storage volume or Instance, its schedule and its retention
 * (docs/PULUMI.md). `pulumi up` takes the backups that are due; `pulumi preview
 * --expect-no-changes` fails when one is overdue or the store lost snapshots the state promised.
 *
 * The provider is serialized by Pulumi into the state: its methods capture only the package name of
 * the module that does the work (module-path.ts), load it when called, and build every client per
 * call (closure rules: no captured clients, Maps or classes with private fields).
 */
import * as pulumi from '@pulumi/pulumi';
import type { BackupSourceInputs, BackupSourceOutputs, RetentionInput, SourceKind } from '../source-inputs';
import type { ScalewayConnection, StoreConnection } from '../connection-types';
import { loadProviderModule, providerModule, type DeepInput } from './module-path';

const SOURCE_OPS = providerModule('source-ops');

type Ops = typeof import('../source-ops');

export const backupSourceProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: BackupSourceInputs, news: BackupSourceInputs) {
    const ops = loadProviderModule<Ops>(SOURCE_OPS);
    return ops.checkSource(news);
  },
  async diff(_id: string, olds: BackupSourceOutputs, news: BackupSourceInputs) {
    const ops = loadProviderModule<Ops>(SOURCE_OPS);
    const d = await ops.diffAndReport(olds, news, new Date());
    return { changes: d.reasons.length > 0, replaces: d.replaces, deleteBeforeReplace: false };
  },
  async create(inputs: BackupSourceInputs) {
    const ops = loadProviderModule<Ops>(SOURCE_OPS);
    const outs = await ops.createSource(inputs);
    return { id: outs.location, outs };
  },
  async read(id: string, props: BackupSourceOutputs) {
    const ops = loadProviderModule<Ops>(SOURCE_OPS);
    return { id, props: await ops.refreshSource(props) };
  },
  async update(id: string, olds: BackupSourceOutputs, news: BackupSourceInputs) {
    const ops = loadProviderModule<Ops>(SOURCE_OPS);
    return ops.updateForPlugin(id, olds, news);
  },
  async delete() {
    // Backups outlive the declaration of their source: forget/prune them explicitly.
  },
};

export interface BackupSourceArgs {
  kind: pulumi.Input<SourceKind>;
  zone: pulumi.Input<string>;
  resourceId: pulumi.Input<string>;
  bucket: pulumi.Input<string>;
  stagingPrefix?: pulumi.Input<string>;
  store: DeepInput<StoreConnection>;
  scaleway: DeepInput<ScalewayConnection>;
  environment?: pulumi.Input<string>;
  dataClass?: pulumi.Input<string>;
  tags?: pulumi.Input<Record<string, string>>;
  schedule: pulumi.Input<string>;
  timeZone?: pulumi.Input<string>;
  /** How often `pulumi up` runs, e.g. the CI's cron "0 * * * *" or "1h" (docs/PULUMI.md "Schedule and cadence"). */
  cadence?: pulumi.Input<string>;
  retention?: DeepInput<RetentionInput>;
  backupOnCreate?: pulumi.Input<boolean>;
  /** `pulumi` (default: backups during `pulumi up`) or `job` (a BackupSchedule's job takes them). */
  runner?: pulumi.Input<'pulumi' | 'job'>;
}

export const BACKUP_SOURCE_TYPE = 'pulumi-nodejs:dynamic/scw-backup:BackupSource';

export class BackupSource extends pulumi.dynamic.Resource {
  declare readonly location: pulumi.Output<string>;
  declare readonly lastSnapshotId: pulumi.Output<string | undefined>;
  declare readonly lastSnapshotTime: pulumi.Output<string | undefined>;
  declare readonly bytesRead: pulumi.Output<number | undefined>;
  declare readonly bytesNew: pulumi.Output<number | undefined>;
  declare readonly bytesStored: pulumi.Output<number | undefined>;
  declare readonly snapshotCount: pulumi.Output<number>;
  declare readonly status: pulumi.Output<string>;
  // The compliance facts (docs/PULUMI.md "Compliance outputs"): the report's row for this source.
  /** The RPO the schedule promises, in seconds (a cron schedule's longest interval). */
  declare readonly rpoSeconds: pulumi.Output<number>;
  /** When the newest backup stops meeting the RPO (ISO 8601); null without a backup. */
  declare readonly rpoDeadline: pulumi.Output<string | null>;
  /** The newest backup met the RPO as of the last create, update or refresh; null without a backup. */
  declare readonly rpoMet: pulumi.Output<boolean | null>;
  /** `passed`, `failed` or `missing` (never drilled). */
  declare readonly lastDrillResult: pulumi.Output<'passed' | 'failed' | 'missing'>;
  /** The last drill's record, as `scw-backup drills` lists it. */
  declare readonly lastDrillId: pulumi.Output<string | null>;
  declare readonly lastDrillRtoSeconds: pulumi.Output<number | null>;
  declare readonly lastDrillTime: pulumi.Output<string | null>;

  constructor(name: string, args: BackupSourceArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = {
      location: undefined, lastSnapshotId: undefined, lastSnapshotTime: undefined, bytesRead: undefined, bytesNew: undefined, bytesStored: undefined, snapshotCount: undefined, status: undefined, retained: undefined,
      rpoSeconds: undefined, rpoDeadline: undefined, rpoMet: undefined, lastDrillResult: undefined, lastDrillId: undefined, lastDrillRtoSeconds: undefined, lastDrillTime: undefined,
    };
    // Its own URN, for Diff to file its reasons under this resource in the engine's log.
    const resourceUrn = pulumi.createUrn(name, BACKUP_SOURCE_TYPE, opts?.parent);
    // The store passphrase and the API secret key travel inside `store` and `scaleway`: both secret.
    super(backupSourceProvider, name, { ...outputs, ...args, resourceUrn }, { ...opts, additionalSecretOutputs: ['store', 'scaleway'] }, 'scw-backup', 'BackupSource');
  }
}
