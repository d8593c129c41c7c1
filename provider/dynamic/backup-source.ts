/**
 * BackupSource: one Scaleway Block Storage volume or Instance, its schedule and its retention
 * (docs/PULUMI.md). `pulumi up` takes the backups that are due; `pulumi preview
 * --expect-no-changes` fails when one is overdue or the last snapshot went missing from the store.
 *
 * The provider is serialized by Pulumi into the state: its methods capture only the path of the
 * module that does the work (source-ops.ts), `require` it when called, and build every client per
 * call (closure rules: no captured clients, Maps or classes with private fields).
 */
import * as pulumi from '@pulumi/pulumi';
import type { BackupSourceInputs, BackupSourceOutputs, RetentionInput, SourceKind } from '../source-ops';
import type { ScalewayConnection, StoreConnection } from '../connection';
import { providerModule, type DeepInput } from './module-path';

const SOURCE_OPS = providerModule('source-ops');

type Ops = typeof import('../source-ops');

export const backupSourceProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: BackupSourceInputs, news: BackupSourceInputs) {
    const ops = require(SOURCE_OPS) as Ops;
    try {
      ops.validateSource(news);
      return { inputs: news };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { inputs: news, failures: [{ property: reason.split(':')[0].split('.')[0], reason }] };
    }
  },
  async diff(_id: string, olds: BackupSourceOutputs, news: BackupSourceInputs) {
    const ops = require(SOURCE_OPS) as Ops;
    const d = await ops.diffSource(olds, news, new Date());
    if (d.reasons.length > 0) {
      // Shown by `pulumi preview`: why this source wants an update.
      const { log } = require('@pulumi/pulumi') as typeof pulumi;
      await log.info(`backup source ${ops.sourceLocation(news)}: ${d.reasons.join('; ')}`);
    }
    return { changes: d.reasons.length > 0, replaces: d.replaces, deleteBeforeReplace: false };
  },
  async create(inputs: BackupSourceInputs) {
    const ops = require(SOURCE_OPS) as Ops;
    const outs = await ops.createSource(inputs);
    return { id: outs.location, outs };
  },
  async read(id: string, props: BackupSourceOutputs) {
    const ops = require(SOURCE_OPS) as Ops;
    return { id, props: await ops.refreshSource(props) };
  },
  async update(_id: string, olds: BackupSourceOutputs, news: BackupSourceInputs) {
    const ops = require(SOURCE_OPS) as Ops;
    return { outs: await ops.updateSource(olds, news) };
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
  retention?: DeepInput<RetentionInput>;
  backupOnCreate?: pulumi.Input<boolean>;
  /** `pulumi` (default: backups during `pulumi up`) or `job` (a BackupSchedule's job takes them). */
  runner?: pulumi.Input<'pulumi' | 'job'>;
}

export class BackupSource extends pulumi.dynamic.Resource {
  declare readonly location: pulumi.Output<string>;
  declare readonly lastSnapshotId: pulumi.Output<string | undefined>;
  declare readonly lastSnapshotTime: pulumi.Output<string | undefined>;
  declare readonly bytesRead: pulumi.Output<number | undefined>;
  declare readonly bytesNew: pulumi.Output<number | undefined>;
  declare readonly bytesStored: pulumi.Output<number | undefined>;
  declare readonly snapshotCount: pulumi.Output<number>;
  declare readonly status: pulumi.Output<string>;

  constructor(name: string, args: BackupSourceArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { location: undefined, lastSnapshotId: undefined, lastSnapshotTime: undefined, bytesRead: undefined, bytesNew: undefined, bytesStored: undefined, snapshotCount: undefined, status: undefined };
    // The store passphrase and the API secret key travel inside `store` and `scaleway`: both secret.
    super(backupSourceProvider, name, { ...outputs, ...args }, { ...opts, additionalSecretOutputs: ['store', 'scaleway'] }, 'scw-backup', 'BackupSource');
  }
}
