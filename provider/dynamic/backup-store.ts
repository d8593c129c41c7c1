/**
 * BackupStore: the encrypted, deduplicating store at an S3 URL (or a folder), initialised on create
 * (docs/PULUMI.md). Deleting the resource never deletes backups unless `retainOnDelete: false` and
 * `forceDestroy: true` are both set. Serialization rules as in backup-source.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import type { StoreConnection } from '../connection';
import type { BackupStoreInputs, BackupStoreOutputs } from '../store-ops';
import { providerModule, type DeepInput } from './module-path';

const STORE_OPS = providerModule('store-ops');

type Ops = typeof import('../store-ops');

export const backupStoreProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: BackupStoreOutputs, news: BackupStoreInputs) {
    const replaces = JSON.stringify(olds.store?.url) !== JSON.stringify(news.store?.url) ? ['store'] : [];
    const changes = replaces.length > 0 || olds.retainOnDelete !== news.retainOnDelete || olds.forceDestroy !== news.forceDestroy;
    return { changes, replaces, deleteBeforeReplace: false };
  },
  async create(inputs: BackupStoreInputs) {
    const ops = require(STORE_OPS) as Ops;
    const outs = await ops.createStore(inputs);
    return { id: inputs.store.url, outs };
  },
  async read(id: string, props: BackupStoreOutputs) {
    const ops = require(STORE_OPS) as Ops;
    return { id, props: await ops.readStore(props) };
  },
  async update(_id: string, olds: BackupStoreOutputs, news: BackupStoreInputs) {
    return { outs: { ...olds, ...news } };
  },
  async delete(_id: string, props: BackupStoreOutputs) {
    const ops = require(STORE_OPS) as Ops;
    await ops.deleteStore(props);
  },
};

export interface BackupStoreArgs {
  store: DeepInput<StoreConnection>;
  retainOnDelete?: pulumi.Input<boolean>;
  forceDestroy?: pulumi.Input<boolean>;
}

export class BackupStore extends pulumi.dynamic.Resource {
  declare readonly snapshotCount: pulumi.Output<number>;
  declare readonly damagedSnapshots: pulumi.Output<string[]>;
  declare readonly adopted: pulumi.Output<boolean>;
  declare readonly store: pulumi.Output<StoreConnection>;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.CustomResourceOptions) {
    super(backupStoreProvider, name, { snapshotCount: undefined, damagedSnapshots: undefined, adopted: undefined, ...args }, { ...opts, additionalSecretOutputs: ['store'] }, 'scw-backup', 'BackupStore');
  }
}
