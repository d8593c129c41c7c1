/**
 * Restore: a snapshot ("latest" by default) of a BackupSource, restored as a new volume (optionally
 * attached) or, for an Instance, a new server (docs/PULUMI.md). Outputs the new ids and the measured
 * restore time. Deleting the resource removes what it created only with `deleteOnDestroy: true`.
 * Serialization rules as in backup-source.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import type { RestoreInputs, RestoreOutputs } from '../restore-ops';
import { providerModule, type DeepInput } from './module-path';

const RESTORE_OPS = providerModule('restore-ops');

type Ops = typeof import('../restore-ops');

export const restoreProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: RestoreOutputs, news: RestoreInputs) {
    // A restore happens once; asking for another snapshot, name or target is a new restore.
    const keys: Array<keyof RestoreInputs> = ['snapshot', 'name', 'attachTo'];
    const replaces = keys.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
    const sourceChanged = JSON.stringify(olds.source?.resourceId) !== JSON.stringify(news.source?.resourceId);
    if (sourceChanged) replaces.push('source');
    return { changes: replaces.length > 0 || olds.deleteOnDestroy !== news.deleteOnDestroy, replaces: replaces as string[], deleteBeforeReplace: false };
  },
  async create(inputs: RestoreInputs) {
    const ops = require(RESTORE_OPS) as Ops;
    const outs = await ops.restoreFromSource(inputs);
    return { id: outs.serverId ?? outs.volumeIds[0], outs };
  },
  async update(_id: string, olds: RestoreOutputs, news: RestoreInputs) {
    return { outs: { ...olds, deleteOnDestroy: news.deleteOnDestroy } };
  },
  async delete(_id: string, props: RestoreOutputs) {
    const ops = require(RESTORE_OPS) as Ops;
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
