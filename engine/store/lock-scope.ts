import { BackupError, InterruptedError, NotFoundError } from '../errors';
import { Lock, RepositoryLockedError, describeLock, leftBehindWarning, type LockOptions } from './locks';
import type { Repository } from './repository';
import type { Snapshot } from './snapshot';

export interface LockScopeOptions extends LockOptions {
  exclusive?: boolean;
  /**
   * Run without a lock (restic's --no-lock): for readers on a store they cannot write to (a read-only
   * key, a read-only mount). A prune running meanwhile may then remove what they are reading, and
   * they fail with a missing pack; nothing wrong is ever written.
   */
  noLock?: boolean;
  /**
   * A snapshot the work reads: once the lock is held, its manifest must still be there (a forget and
   * prune between finding it and locking would have taken its data).
   */
  snapshot?: Snapshot;
  /** Told about stale locks that were ignored. */
  warn?: (message: string) => void;
  /** A reader: a store it cannot write its lock to gets a hint about --no-lock. */
  reader?: boolean;
}

/**
 * Run `fn` under a lock of the repository, released afterwards whatever happens. Readers (restore,
 * check, verify) take a non-exclusive one like writers do: prune cannot start while they read, and
 * they cannot start while prune runs (FORMAT.md §9).
 */
export async function withLock<T>(repo: Repository, options: LockScopeOptions, fn: (lock: Lock | undefined) => Promise<T>): Promise<T> {
  if (options.noLock) return fn(undefined);
  const lock = await Lock.take(repo, !!options.exclusive, {
    ...options,
    onStale: (l) => {
      options.onStale?.(l);
      options.warn?.(`ignored stale ${describeLock(l)}`);
    },
  }).catch((err: unknown) => {
    if (!options.reader || err instanceof RepositoryLockedError || err instanceof InterruptedError || !(err instanceof BackupError)) throw err;
    throw new BackupError(err.code, `${err.message} (while writing a lock to ${options.operation ?? 'read'}; to read a store this key or mount cannot write to, pass --no-lock)`, { cause: err });
  });
  try {
    const s = options.snapshot;
    if (s && !(await repo.backend.stat(`snapshots/${s.id}`))) {
      throw new NotFoundError(`snapshot ${s.id.slice(0, 12)} was removed from ${repo.location} (forget) before it could be read; choose another snapshot`);
    }
    return await fn(lock);
  } catch (err) {
    throw lock.lapsed(err) ?? err;
  } finally {
    await lock.release().catch(() => {
      // The work's own result (or error) is what matters; a lock left behind goes stale in 30 minutes.
    });
    const left = leftBehindWarning(lock);
    if (left) options.warn?.(left);
  }
}
