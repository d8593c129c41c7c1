import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { z } from '../schema';
import { AAD } from '../crypto/seal';
import { BackupError, NotFoundError } from '../errors';
import { elapsedSince, instant, systemClock, type Clock, type Instant } from '../clock';
import { storeNow } from './backend';
import type { Repository } from './repository';
import { currentHost } from './snapshots';

/** FORMAT.md §9. */
export const LOCK_REFRESH_MS = 5 * 60 * 1000;
export const LOCK_STALE_MS = 30 * 60 * 1000;

/** A lock file's content (FORMAT.md §9); a plain type, so the package's declarations expose no zod. */
export interface LockRecord {
  time: string;
  hostname: string;
  username: string;
  pid: number;
  exclusive: boolean;
  /** What the holder is doing (`prune`, `forget`, `copy`...); absent in locks written by backups. */
  operation?: string;
}

const lockSchema: z.ZodType<LockRecord> = z.object({
  time: z.string(),
  hostname: z.string(),
  username: z.string(),
  pid: z.number().finite(),
  exclusive: z.boolean(),
  /** What the holder is doing (`prune`, `forget`, `copy`...); absent in locks written by backups. */
  operation: z.string().optional(),
});
export type LockInfo = LockRecord & { path: string; modified?: Date };
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

/**
 * Our own lock can no longer be trusted: it went unrefreshed for so long that others may have
 * treated it as stale (the process was paused, the store unreachable), or someone removed it. The
 * holder stops before it writes or removes anything more (FORMAT.md §9).
 */
export class LockExpiredError extends BackupError {
  constructor(location: string, path: string, why: string, options?: { cause?: unknown }) {
    super('LOCK_EXPIRED', `stopped: our lock ${path} in ${location} ${why}, so another process (a prune) may have treated it as stale; ` +
      'nothing more was written or removed. Run the command again', options);
  }
}

/** "an exclusive lock (prune) by backup@ci-3, pid 4711, since 2026-11-25T13:00:00.000Z (locks/ab12…)". */
export function describeLock(lock: LockEntry): string {
  if (!isReadable(lock)) return `an unreadable lock file ${lock.path}${lock.modified ? ` written at ${lock.modified.toISOString()}` : ''}`;
  const user = lock.username ? `${lock.username}@` : '';
  const refreshed = lock.modified ? `, last refreshed ${lock.modified.toISOString()} by the store's clock` : '';
  return `${lock.exclusive ? 'an exclusive' : 'a non-exclusive'} lock${lock.operation ? ` (${lock.operation})` : ''} ` +
    `held by ${user}${lock.hostname}, pid ${lock.pid}, since ${lock.time}${refreshed} (${lock.path.slice(0, 'locks/'.length + 12)}…)`;
}

export interface StaleCheck {
  /** The store's current time, epoch ms (storeNow(); default: this machine's clock). */
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
 * Stale: its object was last written more than LOCK_STALE_MS ago by the store's clock (`now` and
 * `modified` both come from the store, so no host's clock is trusted), or written on this host by a
 * process that no longer exists (as restic does). A lock whose object seems to come from the future
 * (store nodes a little apart) is fresh. Only for a backend that gives no object times does the
 * holder's own `time` stand in for `modified`.
 */
export function isStale(lock: LockEntry, check: StaleCheck = {}): boolean {
  const now = check.now ?? Date.now();
  const written = lock.modified?.getTime() ?? (isReadable(lock) ? Date.parse(lock.time) : Number.NaN);
  if (!isReadable(lock)) return !Number.isNaN(written) && now - written > LOCK_STALE_MS;
  if (Number.isNaN(written) || now - written > LOCK_STALE_MS) return true;
  if (lock.hostname === (check.hostname ?? osHostname()) && lock.pid !== process.pid) return !(check.processAlive ?? processAlive)(lock.pid);
  return false;
}

export interface LockOptions {
  /** Recorded in the lock so that others can say who holds it (e.g. `prune`). */
  operation?: string;
  /** Told about each stale lock that was ignored. */
  onStale?: (lock: LockEntry) => void;
  /** Overrides for the staleness judgement of others' locks (tests); `now` defaults to the store's clock. */
  stale?: Omit<StaleCheck, 'now'>;
  /** This process's clocks (tests shift them). */
  clock?: Clock;
  /**
   * Stops the work: once aborted, assertFresh() and confirm() throw its reason (an
   * InterruptedError), so the holder stops at the same safe points where a lapsed lock stops it.
   */
  signal?: AbortSignal;
}

/** After a failed refresh, try again this soon rather than a whole refresh period later. */
const RETRY_MS = 30 * 1000;
/** Our lock is trusted while its last write started less than this long ago: others see it fresh for 5 minutes more. */
const TRUST_MS = LOCK_STALE_MS - LOCK_REFRESH_MS;

/**
 * A lock held by this process. Writers (backup, copy, forget) and readers (restore, check) take
 * non-exclusive locks and never wait for each other; prune and key changes take exclusive ones.
 * Taking a lock writes it first, then looks at the others, so of two processes that start at once at
 * least one sees the other (FORMAT.md §9):
 * - an exclusive lock is refused when any other non-stale lock exists (readable or not);
 * - a non-exclusive lock is refused when a non-stale exclusive lock exists.
 *
 * The holder refreshes its lock every LOCK_REFRESH_MS. Before each step that commits something
 * (an index file, a snapshot, a deletion) it calls `confirm()`, and during long work `assertFresh()`:
 * both fail with LockExpiredError once the lock may have looked stale to others, and from then on the
 * lock is never refreshed again (a refresh would hide from others that it lapsed).
 */
export class Lock {
  private path: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  /** When the write of our current lock file started. */
  private written: Instant | undefined;
  /** Why the lock can no longer be trusted, once it cannot. */
  private lost: string | undefined;
  private lastError: unknown;
  private released = false;
  /** Stale locks that were ignored when this lock was taken. */
  readonly ignoredStale: LockEntry[] = [];
  /**
   * Our own lock files the store refused to delete (`S3_DELETE_DENIED`: a key without delete rights,
   * BackupIdentity `deletes: false`): left to go stale, which is all a lock file left behind does.
   */
  readonly leftBehind: string[] = [];

  private constructor(
    private readonly repo: Repository,
    readonly exclusive: boolean,
    private readonly operation: string | undefined,
    private readonly clock: Clock,
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async take(repo: Repository, exclusive: boolean, options: LockOptions = {}): Promise<Lock> {
    options.signal?.throwIfAborted();
    const lock = new Lock(repo, exclusive, options.operation, options.clock ?? systemClock, options.signal);
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
    lock.schedule(LOCK_REFRESH_MS);
    return lock;
  }

  private async checkOthers(options: LockOptions): Promise<void> {
    const blocking: LockEntry[] = [];
    const others = await listLocks(this.repo);
    const stale: StaleCheck = { ...options.stale, now: await storeNow(this.repo.backend) };
    for (const other of others) {
      if (other.path === this.path) continue;
      const conflicts = this.exclusive || (isReadable(other) && other.exclusive);
      if (!conflicts) continue;
      if (isStale(other, stale)) {
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

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.refreshing = this.refresh().finally(() => {
        if (!this.released && this.lost === undefined) this.schedule(this.lastError === undefined ? LOCK_REFRESH_MS : RETRY_MS);
      });
    }, ms);
    this.timer.unref();
  }

  /**
   * Write a fresh lock file unless ours may already have looked stale, or was removed by someone
   * (`unlock`): then the lock is lost for good. A failed write is retried soon; the lock stays
   * trusted until TRUST_MS after the last write that worked.
   */
  async refresh(): Promise<void> {
    if (this.lost !== undefined || this.released) return;
    if (this.untrustedFor() !== undefined) return;
    try {
      if (this.path && !(await this.repo.backend.stat(this.path))) {
        this.lost = 'was removed by someone else (scw-backup unlock?)';
        return;
      }
      // The check above took time: a refresh must never revive a lock that lapsed meanwhile.
      if (this.untrustedFor() !== undefined) return;
      await this.write();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err;
    }
  }

  /** Write a fresh lock file, then remove the previous one (objects are never rewritten). */
  private async write(): Promise<void> {
    const started = instant(this.clock);
    const info = { ...currentHost(), time: new Date(started.wall).toISOString(), pid: process.pid, exclusive: this.exclusive, operation: this.operation };
    const path = `locks/${randomBytes(32).toString('hex')}`;
    await this.repo.backend.put(path, this.repo.keys.sealer.seal(AAD.lock, [Buffer.from(JSON.stringify(info))]));
    this.written = started;
    const old = this.path;
    this.path = path;
    if (old) await this.removeOwn(old);
  }

  /** Delete one of our lock files; a store that refuses (no delete rights) keeps it until it is stale. */
  private async removeOwn(path: string): Promise<void> {
    try {
      await this.repo.backend.delete(path);
    } catch (err) {
      if ((err as { code?: string }).code !== 'S3_DELETE_DENIED') throw err;
      this.leftBehind.push(path);
    }
  }

  /** Why the lock is not to be trusted now (and, from then on, never again), or undefined. */
  private untrustedFor(): string | undefined {
    if (this.lost !== undefined) return this.lost;
    if (!this.written) return 'was never written';
    const age = elapsedSince(this.clock, this.written);
    if (age <= TRUST_MS) return undefined;
    const failure = this.lastError === undefined ? '' : ` (the last refresh failed: ${this.lastError instanceof Error ? this.lastError.message : String(this.lastError)})`;
    this.lost = `was last refreshed ${Math.round(age / 60_000)} minutes ago${failure}`;
    return this.lost;
  }

  /**
   * Throw LockExpiredError unless the lock is still certainly fresh in everyone's eyes, or the
   * signal's reason when the work was asked to stop. Cheap: no I/O.
   */
  assertFresh(): void {
    this.signal?.throwIfAborted();
    this.assertHeld();
  }

  /** The lapse half of assertFresh(): for clean-up work that must go on when the work was asked to stop. */
  private assertHeld(): void {
    const why = this.untrustedFor();
    if (why !== undefined) throw new LockExpiredError(this.repo.location, this.path ?? 'locks/?', why, { cause: this.lastError });
  }

  /**
   * When work under this lock failed: the LockExpiredError that explains the failure if the lock has
   * lapsed meanwhile (a prune may then have removed what the work was writing or reading), else
   * undefined and the failure stands as it is.
   */
  lapsed(failure: unknown): LockExpiredError | undefined {
    if (failure instanceof LockExpiredError) return undefined;
    const why = this.untrustedFor();
    return why === undefined ? undefined : new LockExpiredError(this.repo.location, this.path ?? 'locks/?', why, { cause: failure });
  }

  /**
   * assertFresh(), and our lock file still exists: call right before committing (a snapshot, an index,
   * a deletion). With `cleanup` (indexing what an interrupted backup stored), a stop request does not
   * count: only whether the lock still holds.
   */
  async confirm(options: { cleanup?: boolean } = {}): Promise<void> {
    if (!options.cleanup) this.signal?.throwIfAborted();
    this.assertHeld();
    if (this.path && !(await this.repo.backend.stat(this.path))) {
      this.lost = 'was removed by someone else (scw-backup unlock?)';
      this.assertHeld();
    }
  }

  async release(): Promise<void> {
    this.released = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing;
    const path = this.path;
    this.path = undefined;
    if (path) await this.removeOwn(path);
  }
}

/** What to tell the user about lock files a lock could not remove (undefined when none). */
export function leftBehindWarning(lock: Lock | undefined): string | undefined {
  if (!lock || lock.leftBehind.length === 0) return undefined;
  return `the store refused to delete our lock file(s) ${lock.leftBehind.join(', ')} (a key without delete rights?): ` +
    `they go stale ${LOCK_STALE_MS / 60000} minutes after they were written; a prune waits for that, or "scw-backup unlock" removes them`;
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
    const plain = repo.keys.sealer.open(AAD.lock, bytes);
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
  const locks = await listLocks(repo);
  const stale: StaleCheck = { now: await storeNow(repo.backend), ...options.stale };
  for (const lock of locks) {
    if (!options.all && !isStale(lock, stale)) {
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
