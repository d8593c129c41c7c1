import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  BackupError, LOCK_STALE_MS, Lock, LockExpiredError, RepositoryLockedError, backupImage, checkRepository, forgetSnapshots, isStale, listLocks,
  pruneRepository, removeLocks, removeSnapshots, restoreImage, RawFileSource, type DiskSource, type Repository,
} from '../../../engine';
import { prng, tempDir, writeImage } from '../../helpers';
import { FsBackend, HookedBackend, backupBytes, listPaths, makeStore, reopen, shiftedClock, writeForeignLock } from './helpers';

let dir: { path: string; cleanup: () => Promise<void> };
let repoPath: string;
let repo: Repository;
beforeEach(async () => {
  dir = await tempDir('scwb-locks-');
  repoPath = join(dir.path, 'repo');
  repo = await makeStore(repoPath);
});
afterEach(() => dir.cleanup());

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

it('prune refuses while a backup holds a lock, naming its host, pid and time', async () => {
  const time = minutesAgo(2);
  await writeForeignLock(repo, { hostname: 'ci-runner-7', pid: 31337, exclusive: false, time });
  const err = await pruneRepository(repo, { graceMs: 0 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RepositoryLockedError);
  expect((err as RepositoryLockedError).code).toBe('REPOSITORY_LOCKED');
  expect((err as Error).message).toMatch(/cannot start prune: .*non-exclusive lock held by ops@ci-runner-7, pid 31337, since/);
  expect((err as Error).message).toContain(time);
  expect((err as Error).message).toMatch(/unlock/);
  // The refused prune took its own lock back.
  expect(await listPaths(repo.backend, 'locks')).toHaveLength(1);
});

it('a backup (and forget) refuse while prune holds the store, and run beside each other', async () => {
  const prune = await Lock.take(repo, true, { operation: 'prune' });
  const img = await writeImage(dir.path, 'a.img', prng(1)(256 * 1024));
  const source = await RawFileSource.open(img);
  await expect(backupImage(await reopen(repoPath), source, { workers: 0 })).rejects.toThrow(/cannot lock the repository for writing: .*exclusive lock \(prune\)/);
  await expect(forgetSnapshots(await reopen(repoPath), { policy: { last: 1 } })).rejects.toThrow(/cannot start forget: .*exclusive lock \(prune\) held by .*pid/);
  // Reading starts before the lock is taken; a disk of zeros only (no lookups at all) is refused too, with workers.
  const zeros = await RawFileSource.open(await writeImage(dir.path, 'zeros.img', Buffer.alloc(256 * 1024)));
  await expect(backupImage(await reopen(repoPath), zeros, { workers: 2 })).rejects.toThrow(/exclusive lock \(prune\)/);
  await zeros.close();
  expect(await listPaths(repo.backend, 'snapshots')).toEqual([]);
  await prune.release();
  // Writers never wait for each other.
  const other = await Lock.take(repo, false, { operation: 'copy' });
  await backupImage(await reopen(repoPath), source, { workers: 0 });
  await other.release();
  await source.close();
  expect(await listPaths(repo.backend, 'locks')).toEqual([]);
});

it('two prunes at once: never both; a refused one names the holder', async () => {
  for (let round = 0; round < 5; round++) {
    const results = await Promise.allSettled([Lock.take(repo, true, { operation: 'prune' }), Lock.take(await reopen(repoPath), true, { operation: 'prune' })]);
    const won = results.filter((r): r is PromiseFulfilledResult<Lock> => r.status === 'fulfilled');
    expect(won.length).toBeLessThanOrEqual(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(String(r.reason)).toMatch(new RegExp(`exclusive lock \\(prune\\) held by .*${hostname()}, pid ${process.pid}`));
    }
    for (const w of won) await w.value.release();
    expect(await listPaths(repo.backend, 'locks')).toEqual([]);
  }
  // One after the other: the second is refused while the first holds the store.
  const first = await Lock.take(repo, true, { operation: 'prune' });
  await expect(pruneRepository(await reopen(repoPath), { graceMs: 0 })).rejects.toThrow(/cannot start prune: .*exclusive lock \(prune\)/);
  await first.release();
  await pruneRepository(await reopen(repoPath), { graceMs: 0 });
});

it('ignores stale locks with a warning, and unlock removes only those', async () => {
  await writeForeignLock(repo, { exclusive: false, time: minutesAgo(31) });
  await writeForeignLock(repo, { exclusive: true, time: minutesAgo(45), operation: 'prune' });
  const r = await pruneRepository(repo, { graceMs: 0 });
  expect(r.warnings.filter((w) => w.startsWith('ignored stale'))).toHaveLength(2);

  const fresh = await writeForeignLock(repo, { exclusive: false, time: minutesAgo(1) });
  const u = await removeLocks(repo);
  expect(u.removed).toHaveLength(2);
  expect(u.kept.map((l) => l.path)).toEqual([fresh]);
  const all = await removeLocks(repo, { all: true });
  expect(all.removed.map((l) => l.path)).toEqual([fresh]);
  expect(await listLocks(repo)).toEqual([]);
});

it('a lock of this host whose process is gone is stale at once', async () => {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid as number;
  await new Promise((res) => child.on('exit', res));
  await writeForeignLock(repo, { hostname: hostname(), pid, exclusive: true, operation: 'prune' });
  const [lock] = await listLocks(repo);
  expect(isStale(lock)).toBe(true);
  expect(isStale(lock, { processAlive: () => true })).toBe(false);
  expect(isStale(lock, { hostname: 'elsewhere' })).toBe(false);
  const taken = await Lock.take(repo, true, { operation: 'prune' });
  expect(taken.ignoredStale).toHaveLength(1);
  await taken.release();
});

it('an unreadable lock blocks prune until it is old, but not backups', async () => {
  await repo.backend.put(`locks/${'ab'.repeat(32)}`, Buffer.from('garbage'));
  const [lock] = await listLocks(repo);
  expect(lock).toMatchObject({ unreadable: true });
  await expect(Lock.take(repo, true, { operation: 'prune' })).rejects.toThrow(/unreadable lock file locks\/abab/);
  const writer = await Lock.take(repo, false);
  await writer.release();
  expect(isStale(lock, { now: Date.now() + LOCK_STALE_MS + 60_000 })).toBe(true);
});

it('listing locks survives a lock that vanishes between list and read', async () => {
  const hooked = new HookedBackend(await FsBackend.open(repoPath));
  const r = await reopen(hooked);
  const gone = await writeForeignLock(repo, { exclusive: false });
  hooked.beforeGet = async (path) => {
    if (path === gone) await hooked.inner.delete(gone);
  };
  expect(await listLocks(r)).toEqual([]);
});

it('a lock not refreshed for too long refuses to go on', async () => {
  const clock = shiftedClock();
  const lock = await Lock.take(repo, true, { operation: 'prune', clock });
  expect(() => lock.assertFresh()).not.toThrow();
  clock.shift(LOCK_STALE_MS);
  expect(() => lock.assertFresh()).toThrow(/LOCK_EXPIRED|last refreshed 30 minutes ago/);
  await lock.release();
});

describe('a holder whose lock lapses', () => {
  /** A raw disk source that calls `at` once, when the backup first reads past `offset`. */
  function pausingSource(source: DiskSource, offset: number, at: () => void): DiskSource {
    let fired = false;
    return {
      info: source.info,
      size: source.size,
      extents: () => source.extents(),
      read: async (o, into) => {
        if (!fired && o >= offset) {
          fired = true;
          at();
        }
        return source.read(o, into);
      },
      close: () => source.close(),
    };
  }

  it('a backup paused past the trust window stops before it writes an index or a snapshot, and claims nothing', async () => {
    const img = await writeImage(dir.path, 'paused.img', prng(11)(4 << 20));
    const raw = await RawFileSource.open(img);
    const clock = shiftedClock();
    // Half-way through, the process is stopped for 26 minutes (SIGSTOP, a suspended laptop).
    const source = pausingSource(raw, 2 << 20, () => clock.shift(26 * 60_000));
    const err = await backupImage(await reopen(repoPath), source, { workers: 0, window: 256 * 1024, clock }).catch((e: unknown) => e);
    await raw.close();
    expect(err).toBeInstanceOf(LockExpiredError);
    expect((err as Error).message).toMatch(/stopped: our lock locks\/[0-9a-f]+ in .* was last refreshed 26 minutes ago, so another process \(a prune\) may have treated it as stale; nothing more was written or removed/);
    expect(await listPaths(repo.backend, 'snapshots')).toEqual([]);
    expect(await listPaths(repo.backend, 'index')).toEqual([]);
    expect(await listPaths(repo.backend, 'locks')).toEqual([]);
    // What it stored before it stopped is unindexed: prune collects it after the grace period.
    const pruned = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
    expect(pruned.packs.unindexedRemoved).toBeGreaterThan(0);
    expect(await listPaths(repo.backend, 'packs')).toEqual([]);
  });

  it('a failed refresh is retried; once the trust window passes, the holder stops and says why', async () => {
    const hooked = new HookedBackend(await FsBackend.open(repoPath));
    const clock = shiftedClock();
    const lock = await Lock.take(await reopen(hooked), false, { clock });
    hooked.beforePut = (path) => {
      if (path.startsWith('locks/')) throw new Error('503 SlowDown: please reduce your request rate');
    };
    clock.shift(5 * 60_000);
    await lock.refresh();
    expect(() => lock.assertFresh()).not.toThrow(); // still within 25 minutes of the last write that worked
    clock.shift(21 * 60_000);
    await lock.refresh();
    expect(() => lock.assertFresh()).toThrow(/was last refreshed 26 minutes ago \(the last refresh failed: 503 SlowDown/);
    await lock.release();
  });

  it('a lapsed lock is never refreshed back to life, and a removed one is lost', async () => {
    const clock = shiftedClock();
    const lapsed = await Lock.take(await reopen(repoPath), false, { clock });
    const [written] = await listPaths(repo.backend, 'locks');
    clock.shift(26 * 60_000);
    await lapsed.refresh();
    expect(await listPaths(repo.backend, 'locks')).toEqual([written]);
    await expect(lapsed.confirm()).rejects.toThrow(LockExpiredError);
    await lapsed.release();

    const removed = await Lock.take(await reopen(repoPath), false);
    await removeLocks(repo, { all: true });
    await expect(removed.confirm()).rejects.toThrow(/was removed by someone else \(scw-backup unlock\?\)/);
    await removed.refresh();
    expect(await listPaths(repo.backend, 'locks')).toEqual([]);
    await removed.release();
  });
});

describe('readers take shared locks', () => {
  it('prune is refused while a restore reads, a restore while prune holds the store; --no-lock reads regardless', async () => {
    const data = prng(12)(2 << 20);
    const snap = await backupBytes(repo, dir.path, 'reader.img', data);
    const hooked = new HookedBackend(await FsBackend.open(repoPath));
    let release: () => void = () => undefined;
    const paused = new Promise<void>((res) => (release = res));
    let reached: () => void = () => undefined;
    const reading = new Promise<void>((res) => (reached = res));
    hooked.beforeGet = async (path) => {
      if (!path.startsWith('packs/')) return;
      reached();
      await paused;
    };
    const target = join(dir.path, 'reader.out');
    const restore = restoreImage(await reopen(hooked), snap, target, { workers: 0 });
    await reading;
    await expect(pruneRepository(await reopen(repoPath), { graceMs: 0 })).rejects.toThrow(/cannot start prune: .*non-exclusive lock \(restore\) held by/);
    release();
    await restore;
    expect((await readFile(target)).equals(data)).toBe(true);

    const prune = await Lock.take(await reopen(repoPath), true, { operation: 'prune' });
    await expect(restoreImage(await reopen(repoPath), snap, target, { overwrite: true, workers: 0 })).rejects.toThrow(/cannot start restore: .*exclusive lock \(prune\)/);
    await expect(checkRepository(await reopen(repoPath))).rejects.toThrow(/cannot start check: .*exclusive lock \(prune\)/);
    await restoreImage(await reopen(repoPath), snap, target, { overwrite: true, workers: 0, noLock: true });
    expect((await checkRepository(await reopen(repoPath), { noLock: true })).errors).toEqual([]);
    await prune.release();
  });

  it('a reader that cannot write its lock says to pass --no-lock, and reads with it', async () => {
    const data = prng(14)(256 * 1024);
    const snap = await backupBytes(repo, dir.path, 'readonly.img', data);
    const hooked = new HookedBackend(await FsBackend.open(repoPath));
    hooked.beforePut = (path) => {
      if (path.startsWith('locks/')) throw new BackupError('STORE_WRITE_FAILED', `cannot write ${path} in ${repoPath}: the store's file system is read-only`);
    };
    const target = join(dir.path, 'readonly.out');
    await expect(restoreImage(await reopen(hooked), snap, target, { workers: 0 })).rejects.toThrow(/read-only \(while writing a lock to restore; to read a store this key or mount cannot write to, pass --no-lock\)/);
    await restoreImage(await reopen(hooked), snap, target, { workers: 0, noLock: true });
    expect((await readFile(target)).equals(data)).toBe(true);
  });

  it('a restore of a snapshot forgotten before the restore could lock says so', async () => {
    const snap = await backupBytes(repo, dir.path, 'gone.img', prng(13)(256 * 1024));
    await removeSnapshots(await reopen(repoPath), [snap.id]);
    await expect(restoreImage(await reopen(repoPath), snap, join(dir.path, 'gone.out'), { workers: 0 }))
      .rejects.toThrow(new RegExp(`snapshot ${snap.id.slice(0, 12)} was removed from .* \\(forget\\) before it could be read`));
  });
});
