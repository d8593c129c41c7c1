/**
 * RestoreDrill: restores the latest (or a given) snapshot of a volume source into a scratch volume,
 * verifies every byte against the store, reports the measured RTO, deletes the scratch volume, and
 * writes the drill record into the store, as `scw-backup drill` does (docs/PULUMI.md): the record
 * `scw-backup drills` lists, the report shows and the BackupSource's `lastDrill*` outputs read. A
 * failed drill is recorded, then fails the create. A drill runs on create; change `runId` (e.g. the
 * month) to run another. Serialization rules as in backup-source.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import type { DrillInputs, DrillOutputs, RestoreInputs } from '../restore-ops';
import { loadProviderModule, providerModule, type DeepInput } from './module-path';

const RESTORE_OPS = providerModule('restore-ops');

type Ops = typeof import('../restore-ops');

export const restoreDrillProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: DrillOutputs, news: DrillInputs) {
    const ops = loadProviderModule<Ops>(RESTORE_OPS);
    return { ...ops.diffRestore(olds, news, ['runId', 'snapshot']), deleteBeforeReplace: true };
  },
  async create(inputs: DrillInputs) {
    const ops = loadProviderModule<Ops>(RESTORE_OPS);
    const outs = await ops.runDrill(inputs);
    return { id: `${outs.snapshotId}-${inputs.runId ?? 'drill'}`, outs };
  },
  async update(_id: string, olds: DrillOutputs, news: DrillInputs) {
    // No new drill; the new connection (a rotated key) is recorded.
    return { outs: { ...olds, source: news.source } };
  },
  async delete() {
    // The scratch volume is gone already; the drill's record stays in the store, as evidence, until
    // a prune removes it with the snapshot it names.
  },
};

export interface RestoreDrillArgs {
  source: DeepInput<RestoreInputs['source']>;
  snapshot?: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  runId?: pulumi.Input<string>;
}

export class RestoreDrill extends pulumi.dynamic.Resource {
  declare readonly snapshotId: pulumi.Output<string>;
  declare readonly rtoMs: pulumi.Output<number>;
  declare readonly verifiedBytes: pulumi.Output<number>;
  declare readonly chunks: pulumi.Output<number>;
  /** The measured RTO as the drill record states it. */
  declare readonly rtoSeconds: pulumi.Output<number>;
  /** The drill record in the store (`drills/<id>`), as `scw-backup drills` lists it. */
  declare readonly drillId: pulumi.Output<string>;
  /** `passed` (a failed drill fails the create, after recording it). */
  declare readonly result: pulumi.Output<'passed'>;
  /** When the drill started (ISO 8601). */
  declare readonly started: pulumi.Output<string>;

  constructor(name: string, args: RestoreDrillArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { snapshotId: undefined, rtoMs: undefined, verifiedBytes: undefined, chunks: undefined, rtoSeconds: undefined, drillId: undefined, result: undefined, started: undefined };
    super(restoreDrillProvider, name, { ...outputs, ...args },
      { ...opts, additionalSecretOutputs: ['source'] }, 'scw-backup', 'RestoreDrill');
  }
}
