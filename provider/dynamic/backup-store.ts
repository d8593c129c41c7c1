/**
 * BackupStore: the encrypted, deduplicating store at an S3 URL (or a folder), initialised on create
 * (docs/PULUMI.md). Deleting the resource never deletes backups unless `keepBackups: false` and
 * `forceDestroy: true` are both set. Serialization rules as in backup-source.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import type { StoreConnection } from '../connection';
import type { BackupStoreInputs, BackupStoreOutputs } from '../store-ops';
import { loadProviderModule, providerModule, type DeepInput } from './module-path';

const STORE_OPS = providerModule('store-ops');

type Ops = typeof import('../store-ops');

export const backupStoreProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: BackupStoreInputs, news: BackupStoreInputs) {
    const ops = loadProviderModule<Ops>(STORE_OPS);
    return ops.checkStore(news);
  },
  async diff(_id: string, olds: BackupStoreOutputs, news: BackupStoreInputs) {
    const ops = loadProviderModule<Ops>(STORE_OPS);
    return { ...ops.diffStore(olds, news), deleteBeforeReplace: false };
  },
  async create(inputs: BackupStoreInputs) {
    const ops = loadProviderModule<Ops>(STORE_OPS);
    const outs = await ops.createStore(inputs);
    return { id: inputs.store.url, outs };
  },
  async read(id: string, props: BackupStoreOutputs) {
    const ops = loadProviderModule<Ops>(STORE_OPS);
    return { id, props: await ops.readStore(props) };
  },
  async update(_id: string, olds: BackupStoreOutputs, news: BackupStoreInputs) {
    // The new connection and flags replace the old (a rotated key): destroy runs with these outputs.
    const { retainOnDelete: _legacy, ...rest } = olds;
    return { outs: { ...rest, ...news } };
  },
  async delete(_id: string, props: BackupStoreOutputs) {
    const ops = loadProviderModule<Ops>(STORE_OPS);
    await ops.deleteStore(props);
  },
};

export interface BackupStoreArgs {
  store: DeepInput<StoreConnection>;
  /** Default true: deleting the resource keeps the store (not Pulumi's `retainOnDelete` option, see docs/PULUMI.md). */
  keepBackups?: pulumi.Input<boolean>;
  /** With keepBackups false: deleting the resource deletes every object of the store. */
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
