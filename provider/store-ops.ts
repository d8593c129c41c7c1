/**
 * What a BackupStore does (docs/PULUMI.md): initialise the encrypted store at its URL (or adopt one
 * that the passphrase opens), report its snapshot count, and on delete leave every backup in place
 * unless both `keepBackups: false` and `forceDestroy: true` say otherwise.
 *
 * The dynamic provider loads this module by package name (scw-backup/provider/store-ops); refresh and
 * destroy run the state's provider text, whichever version wrote it: `readStore` and `deleteStore`
 * keep their names and shapes, and read the flags of states written before `keepBackups` existed.
 */
import './plugin-process';
import { InvalidInputError, listSnapshots, RepositoryExistsError, type Repository } from '../engine';
import { checkInputs, type CheckAnswer } from './check-inputs';
import { initStore, openStore, withStore, type StoreConnection } from './connection';
import { isUnknown, knownChanges, unknownKeys } from './unknowns';

export interface BackupStoreInputs {
  store: StoreConnection;
  /**
   * Default true: deleting the resource keeps the store and its backups. (Named apart from Pulumi's
   * `retainOnDelete` resource option, which keeps Pulumi from calling delete at all.)
   */
  keepBackups?: boolean;
  /** With keepBackups false: delete every object of the store when the resource is deleted. */
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
  /** States written before keepBackups: the same flag under the resource option's name. */
  retainOnDelete?: boolean;
}

/**
 * Checks without the network; unknown values (a preview) are checked when known. The old input name
 * `retainOnDelete` is refused: Pulumi's resource option of that name does something else.
 */
export function validateStore(i: BackupStoreInputs & { retainOnDelete?: unknown }): void {
  if (i.retainOnDelete !== undefined) {
    throw new InvalidInputError('retainOnDelete', 'is now keepBackups (Pulumi\'s retainOnDelete resource option keeps Pulumi from deleting the resource at all): rename it');
  }
  const s = i.store;
  if (isUnknown(s)) return;
  if (!s || (!isUnknown(s.url) && !s.url)) throw new InvalidInputError('store.url', 'the store location is required (s3://BUCKET/PREFIX or a folder)');
  if (!isUnknown(s.passphrase) && !s.passphrase) throw new InvalidInputError('store.passphrase', 'required (a Pulumi secret)');
  for (const k of ['keepBackups', 'forceDestroy'] as const) {
    if (i[k] !== undefined && !isUnknown(i[k]) && typeof i[k] !== 'boolean') throw new InvalidInputError(k, `${JSON.stringify(i[k])} is not true or false`);
  }
}

/** Check: validateStore's answer, a bad input as a failure on it. */
export function checkStore(news: BackupStoreInputs): CheckAnswer<BackupStoreInputs> {
  return checkInputs(news, validateStore);
}

/**
 * What an update changes, without the network: another store URL (known) is a new store, anything
 * else (a rotated key, the flags) an update that records it, so that refresh and destroy use it.
 */
export function diffStore(olds: BackupStoreOutputs, news: BackupStoreInputs): { changes: boolean; replaces: string[] } {
  const url = (v: BackupStoreInputs): unknown => (isUnknown(v.store) ? v.store : v.store?.url);
  const replaces = knownChanges({ url: url(olds) }, { url: url(news) }, ['url']).length > 0 ? ['store'] : [];
  const flags = { ...news, keepBackups: news.keepBackups ?? true };
  const old = { ...olds, keepBackups: olds.keepBackups ?? olds.retainOnDelete ?? true };
  const changed = knownChanges(old, flags, ['store', 'keepBackups', 'forceDestroy', 'weakKdfForTests']).length > 0 || unknownKeys(news).length > 0;
  return { changes: replaces.length > 0 || changed, replaces };
}

export async function createStore(i: BackupStoreInputs): Promise<BackupStoreOutputs> {
  validateStore(i);
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

/**
 * Counted from the manifests, not the catalog: the store's read is its health check, and only a
 * manifest read tells a damaged one (one GET per snapshot, 16 at a time, as `check` does).
 */
async function counts(repo: Repository): Promise<Pick<BackupStoreOutputs, 'snapshotCount' | 'damagedSnapshots'>> {
  const { snapshots, damaged } = await listSnapshots(repo, {}, { fromFiles: true });
  return { snapshotCount: snapshots.length, damagedSnapshots: damaged.map((d) => d.id) };
}

/** Returns what was deleted: nothing, unless both flags ask for it. */
export async function deleteStore(i: BackupStoreOutputs): Promise<number> {
  const keep = i.keepBackups ?? i.retainOnDelete ?? true;
  if (keep !== false || i.forceDestroy !== true) return 0;
  return withStore(i.store, async (repo) => {
    const paths: string[] = [];
    for await (const o of repo.backend.list('')) paths.push(o.path);
    for (const p of paths) await repo.backend.delete(p);
    return paths.length;
  });
}
