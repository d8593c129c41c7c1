import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { z } from 'zod';
import { AAD, open, seal } from '../crypto/seal';
import { BackupError, NotFoundError } from '../errors';
import type { Repository } from './repository';
import { currentHost } from './snapshots';

/** FORMAT.md §9. */
export const LOCK_REFRESH_MS = 5 * 60 * 1000;
export const LOCK_STALE_MS = 30 * 60 * 1000;

const lockSchema = z.object({
  time: z.string(),
  hostname: z.string(),
  username: z.string(),
  pid: z.number(),
  exclusive: z.boolean(),
  /** What the holder is doing (`prune`, `forget`, `copy`...); absent in locks written by backups. */
  operation: z.string().optional(),
});
export type LockInfo = z.infer<typeof lockSchema> & { path: string; modified?: Date };
/** A lock file that does not open or parse (damaged): it may be anything, so it is treated with care. */
export interface UnreadableLock {
  path: string;
  unreadable: true;
  modified?: Date;
}
export type LockEntry = LockInfo | UnreadableLock;

export function isReadable(lock: LockEntry): lock is LockInfo {
  return !('unreadable' in lock);
}

/** The repository is locked by someone else in a way that forbids what was asked (FORMAT.md §9). */
export class RepositoryLockedError extends BackupError {
  readonly holders: LockEntry[];
  constructor(location: string, operation: string | undefined, holders: LockEntry[]) {
    const first = holders[0];
    super('REPOSITORY_LOCKED', `cannot ${operation ? `start ${operation}` : 'lock the repository for writing'}: the repository at ${location} is locked by ${describeLock(first)}` +
      (holders.length > 1 ? ` and ${holders.length - 1} other lock(s)` : '') +
      '; wait for it to finish, or, if that process is gone, run "scw-backup unlock" once the lock is stale ' +
      `(${LOCK_STALE_MS / 60000} minutes after its last refresh) or "scw-backup unlock --remove-all"`);
    this.holders = holders;
  }
}

/** The holder's own lock went unrefreshed for so long that others may treat it as stale. */
export class LockExpiredError extends BackupError {
  constructor(location: string, path: string) {
    super('LOCK_EXPIRED', `our lock ${path} in ${location} was not refreshed for too long and may be seen as stale; stopped before removing anything`);
  }
}

/** "an exclusive lock (prune) by backup@ci-3, pid 4711, since 2026-11-25T13:00:00.000Z (locks/ab12…)". */
export function describeLock(lock: LockEntry): string {
  if (!isReadable(lock)) return `an unreadable lock file ${lock.path}${lock.modified ? ` written at ${lock.modified.toISOString()}` : ''}`;
  const user = lock.username ? `${lock.username}@` : '';
  return `${lock.exclusive ? 'an exclusive' : 'a non-exclusive'} lock${lock.operation ? ` (${lock.operation})` : ''} ` +
    `held by ${user}${lock.hostname}, pid ${lock.pid}, since ${lock.time} (${lock.path.slice(0, 'locks/'.length + 12)}…)`;
}

export interface StaleCheck {
  /** Epoch ms (default Date.now()). */
  now?: number;
  /** This machine's host name (default os.hostname()). */
  hostname?: string;
  /** Whether a process of this machine is alive (default: signal 0). */
  processAlive?: (pid: number) => boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stale: not refreshed for LOCK_STALE_MS, or written on this host by a process that no longer
 * exists (as restic does). An unreadable lock is stale only by its object's age.
 */
export function isStale(lock: LockEntry, check: StaleCheck = {}): boolean {
  const now = check.now ?? Date.now();
  if (!isReadable(lock)) return lock.modified !== undefined && now - lock.modified.getTime() > LOCK_STALE_MS;
  const time = Date.parse(lock.time);
  if (Number.isNaN(time) || now - time > LOCK_STALE_MS) return true;
  if (lock.hostname === (check.hostname ?? osHostname()) && lock.pid !== process.pid) return !(check.processAlive ?? processAlive)(lock.pid);
  return false;
}

export interface LockOptions {
  /** Recorded in the lock so that others can say who holds it (e.g. `prune`). */
  operation?: string;
  /** Told about each stale lock that was ignored. */
  onStale?: (lock: LockEntry) => void;
  stale?: StaleCheck;
}

/**
 * A lock held by this process. Writers (backup, copy, forget) take non-exclusive locks and never wait
 * for each other; prune takes an exclusive one. Taking a lock writes it first, then looks at the
 * others, so of two processes that start at once at least one sees the other (FORMAT.md §9):
 * - an exclusive lock is refused when any other non-stale lock exists (readable or not);
 * - a non-exclusive lock is refused when a non-stale exclusive lock exists.
 */
export class Lock {
  private path: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private lastWritten = 0;
  /** Stale locks that were ignored when this lock was taken. */
  readonly ignoredStale: LockEntry[] = [];

  private constructor(private readonly repo: Repository, readonly exclusive: boolean, private readonly operation: string | undefined) {}

  static async take(repo: Repository, exclusive: boolean, options: LockOptions = {}): Promise<Lock> {
    const lock = new Lock(repo, exclusive, options.operation);
    // Looking first saves writing (and, on Object Lock buckets, keeping) a lock that would be refused.
    await lock.checkOthers(options);
    await lock.write();
    try {
      await lock.checkOthers(options);
    } catch (err) {
      await lock.release().catch(() => {
        // The refusal is what matters; a lock left behind goes stale.
      });
      throw err;
    }
    lock.timer = setInterval(() => {
      lock.refreshing = lock.refreshing.then(() => lock.write()).catch(() => {
        // A failed refresh leaves the previous lock file in place; it goes stale and the next
        // refresh or release tries again. The holder's own work is unaffected.
      });
    }, LOCK_REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  private async checkOthers(options: LockOptions): Promise<void> {
    const blocking: LockEntry[] = [];
    for (const other of await listLocks(this.repo)) {
      if (other.path === this.path) continue;
      const conflicts = this.exclusive || (isReadable(other) && other.exclusive);
      if (!conflicts) continue;
      if (isStale(other, options.stale)) {
        if (!this.ignoredStale.some((l) => l.path === other.path)) {
          this.ignoredStale.push(other);
          options.onStale?.(other);
        }
        continue;
      }
      blocking.push(other);
    }
    if (blocking.length > 0) {
      blocking.sort((a, b) => Number(isReadable(b) && b.exclusive) - Number(isReadable(a) && a.exclusive));
      throw new RepositoryLockedError(this.repo.location, this.operation, blocking);
    }
  }

  /** Write a fresh lock file, then remove the previous one (objects are never rewritten). */
  private async write(): Promise<void> {
    const info = { ...currentHost(), time: new Date().toISOString(), pid: process.pid, exclusive: this.exclusive, operation: this.operation };
    const path = `locks/${randomBytes(32).toString('hex')}`;
    await this.repo.backend.put(path, seal(this.repo.keys.encryption, AAD.lock, [Buffer.from(JSON.stringify(info))]));
    this.lastWritten = Date.now();
    const old = this.path;
    this.path = path;
    if (old) await this.repo.backend.delete(old);
  }

  /** Throw unless the lock was written recently enough that nobody can have seen it as stale. */
  assertFresh(now = Date.now()): void {
    if (!this.path || now - this.lastWritten > LOCK_STALE_MS - LOCK_REFRESH_MS) throw new LockExpiredError(this.repo.location, this.path ?? 'locks/?');
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    const path = this.path;
    this.path = undefined;
    if (path) await this.repo.backend.delete(path);
  }
}

/** Locks currently in the repository; unreadable ones are reported as such, vanished ones skipped. */
export async function listLocks(repo: Repository): Promise<LockEntry[]> {
  const out: LockEntry[] = [];
  for await (const obj of repo.backend.list('locks')) {
    let bytes: Uint8Array;
    try {
      bytes = await repo.backend.get(obj.path);
    } catch (err) {
      // A holder refreshing or releasing its lock removed it after the listing.
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    const plain = open(repo.keys.encryption, AAD.lock, bytes);
    let parsed: LockInfo | undefined;
    try {
      const r = plain ? lockSchema.safeParse(JSON.parse(plain.toString('utf8'))) : undefined;
      if (r?.success) parsed = { ...r.data, path: obj.path, modified: obj.modified };
    } catch {
      // Not JSON: unreadable.
    }
    out.push(parsed ?? { path: obj.path, unreadable: true, modified: obj.modified });
  }
  return out;
}

export interface UnlockResult {
  removed: LockEntry[];
  kept: LockEntry[];
  /** Locks whose removal the store refused (Object Lock), with the reason. */
  failed: Array<{ lock: LockEntry; message: string }>;
}

/** Remove stale locks, or every lock with `all` (only when the holders are known to be gone). */
export async function removeLocks(repo: Repository, options: { all?: boolean; stale?: StaleCheck } = {}): Promise<UnlockResult> {
  const result: UnlockResult = { removed: [], kept: [], failed: [] };
  for (const lock of await listLocks(repo)) {
    if (!options.all && !isStale(lock, options.stale)) {
      result.kept.push(lock);
      continue;
    }
    try {
      await repo.backend.delete(lock.path);
      result.removed.push(lock);
    } catch (err) {
      if (!(err instanceof BackupError)) throw err;
      result.failed.push({ lock, message: err.message });
    }
  }
  return result;
}
