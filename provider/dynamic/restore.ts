/**
 * Restore: a snapshot ("latest" by default) of a BackupSource, restored as a new volume (optionally
 * attached) or, for an Instance, a new server (docs/PULUMI.md). Outputs the new ids and the measured
 * restore time. Deleting the resource removes what it created only with `deleteOnDestroy: true`.
 * Serialization rules as in backup-source.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import type { RestoreInputs, RestoreOutputs } from '../restore-ops';
import { loadProviderModule, providerModule, type DeepInput } from './module-path';

const RESTORE_OPS = providerModule('restore-ops');

type Ops = typeof import('../restore-ops');

export const restoreProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: RestoreOutputs, news: RestoreInputs) {
    const ops = loadProviderModule<Ops>(RESTORE_OPS);
    return { ...ops.diffRestore(olds, news, ['snapshot', 'name', 'attachTo']), deleteBeforeReplace: false };
  },
  async create(inputs: RestoreInputs) {
    const ops = loadProviderModule<Ops>(RESTORE_OPS);
    const outs = await ops.restoreFromSource(inputs);
    return { id: outs.serverId ?? outs.volumeIds[0], outs };
  },
  async update(_id: string, olds: RestoreOutputs, news: RestoreInputs) {
    // Nothing is restored again; the new connection is recorded, for destroy to delete with it.
    return { outs: { ...olds, source: news.source, deleteOnDestroy: news.deleteOnDestroy } };
  },
  async delete(_id: string, props: RestoreOutputs) {
    const ops = loadProviderModule<Ops>(RESTORE_OPS);
    await ops.deleteRestored(props);
  },
};

export interface RestoreArgs {
  source: DeepInput<RestoreInputs['source']>;
  snapshot?: pulumi.Input<string>;
  name?: pulumi.Input<string>;
  attachTo?: pulumi.Input<string>;
  deleteOnDestroy?: pulumi.Input<boolean>;
}

export class Restore extends pulumi.dynamic.Resource {
  declare readonly snapshotId: pulumi.Output<string>;
  declare readonly volumeIds: pulumi.Output<string[]>;
  declare readonly serverId: pulumi.Output<string | undefined>;
  declare readonly durationMs: pulumi.Output<number>;

  constructor(name: string, args: RestoreArgs, opts?: pulumi.CustomResourceOptions) {
    super(restoreProvider, name, { snapshotId: undefined, volumeIds: undefined, serverId: undefined, durationMs: undefined, ...args },
      { ...opts, additionalSecretOutputs: ['source'] }, 'scw-backup', 'Restore');
  }
}
