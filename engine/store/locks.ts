import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AAD, open, seal } from '../crypto/seal';
import type { Repository } from './repository';
import { currentHost } from './snapshots';

/** FORMAT.md §9. */
export const LOCK_REFRESH_MS = 5 * 60 * 1000;
export const LOCK_STALE_MS = 30 * 60 * 1000;

const lockSchema = z.object({ time: z.string(), hostname: z.string(), username: z.string(), pid: z.number(), exclusive: z.boolean() });
export type LockInfo = z.infer<typeof lockSchema> & { path: string };

/**
 * A lock held by this process. Backups take non-exclusive locks (they never wait for each other);
 * the lock only tells a future prune that a writer is at work.
 */
export class Lock {
  private path: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();

  private constructor(private readonly repo: Repository, private readonly exclusive: boolean) {}

  static async take(repo: Repository, exclusive: boolean): Promise<Lock> {
    const lock = new Lock(repo, exclusive);
    await lock.write();
    lock.timer = setInterval(() => {
      lock.refreshing = lock.refreshing.then(() => lock.write()).catch(() => {
        // A failed refresh leaves the previous lock file in place; it goes stale and the next
        // refresh or release tries again. The writer's own work is unaffected.
      });
    }, LOCK_REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  /** Write a fresh lock file, then remove the previous one (objects are never rewritten). */
  private async write(): Promise<void> {
    const info = { ...currentHost(), time: new Date().toISOString(), pid: process.pid, exclusive: this.exclusive };
    const path = `locks/${randomBytes(32).toString('hex')}`;
    await this.repo.backend.put(path, seal(this.repo.keys.encryption, AAD.lock, [Buffer.from(JSON.stringify(info))]));
    const old = this.path;
    this.path = path;
    if (old) await this.repo.backend.delete(old);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    if (this.path) await this.repo.backend.delete(this.path);
    this.path = undefined;
  }
}

/** Locks currently in the repository, with unreadable ones reported as such rather than dropped. */
export async function listLocks(repo: Repository): Promise<Array<LockInfo | { path: string; unreadable: true }>> {
  const out: Array<LockInfo | { path: string; unreadable: true }> = [];
  for await (const obj of repo.backend.list('locks')) {
    const plain = open(repo.keys.encryption, AAD.lock, await repo.backend.get(obj.path));
    const parsed = plain ? lockSchema.safeParse(JSON.parse(plain.toString('utf8'))) : undefined;
    out.push(parsed?.success ? { ...parsed.data, path: obj.path } : { path: obj.path, unreadable: true });
  }
  return out;
}
