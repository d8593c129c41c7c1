/**
 * What a BackupStore does (docs/PULUMI.md): initialise the encrypted store at its URL (or adopt one
 * that the passphrase opens), report its snapshot count, and on delete leave every backup in place
 * unless both `retainOnDelete: false` and `forceDestroy: true` say otherwise.
 */
import { listSnapshots, RepositoryExistsError, type Repository } from '../engine';
import { initStore, openStore, withStore, type StoreConnection } from './connection';

export interface BackupStoreInputs {
  store: StoreConnection;
  /** Default true: deleting the resource keeps the store and its backups. */
  retainOnDelete?: boolean;
  /** With retainOnDelete false: delete every object of the store when the resource is deleted. */
  forceDestroy?: boolean;
  /** Test stores only: a weak passphrase KDF. */
  weakKdfForTests?: boolean;
}

export interface BackupStoreOutputs extends BackupStoreInputs {
  /** Readable snapshots. */
  snapshotCount: number;
  /** Ids of the manifests that cannot be read (`scw-backup check` says why; `forget ID` removes one). */
  damagedSnapshots: string[];
  /** True when the store existed already and was adopted. */
  adopted: boolean;
}

export async function createStore(i: BackupStoreInputs): Promise<BackupStoreOutputs> {
  if (!i.store?.url) throw new Error('store.url: the store location is required (s3://BUCKET/PREFIX or a folder)');
  if (!i.store.passphrase) throw new Error('store.passphrase: required (a Pulumi secret)');
  try {
    const repo = await initStore(i.store, i.weakKdfForTests ? { kdf: { time: 1, memoryKiB: 64, parallelism: 1 }, allowWeakKdf: true } : {});
    await repo.backend.close();
    return { ...i, snapshotCount: 0, damagedSnapshots: [], adopted: false };
  } catch (err) {
    if (!(err instanceof RepositoryExistsError)) throw err;
    // Adopt an existing store, but only one this passphrase opens (a wrong one fails here, typed).
    const repo = await openStore(i.store);
    try {
      return { ...i, ...(await counts(repo)), adopted: true };
    } finally {
      await repo.backend.close();
    }
  }
}

export async function readStore(i: BackupStoreOutputs): Promise<BackupStoreOutputs> {
  return withStore(i.store, async (repo) => ({ ...i, ...(await counts(repo)) }));
}

async function counts(repo: Repository): Promise<Pick<BackupStoreOutputs, 'snapshotCount' | 'damagedSnapshots'>> {
  const { snapshots, damaged } = await listSnapshots(repo);
  return { snapshotCount: snapshots.length, damagedSnapshots: damaged.map((d) => d.id) };
}

/** Returns what was deleted: nothing, unless both flags ask for it. */
export async function deleteStore(i: BackupStoreInputs): Promise<number> {
  if (i.retainOnDelete !== false || i.forceDestroy !== true) return 0;
  return withStore(i.store, async (repo) => {
    const paths: string[] = [];
    for await (const o of repo.backend.list('')) paths.push(o.path);
    for (const p of paths) await repo.backend.delete(p);
    return paths.length;
  });
}
