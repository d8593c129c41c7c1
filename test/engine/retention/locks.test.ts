import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  LOCK_STALE_MS, Lock, RepositoryLockedError, backupImage, forgetSnapshots, isStale, listLocks, pruneRepository, removeLocks,
  RawFileSource, type Repository,
} from '../../../engine';
import { prng, tempDir, writeImage } from '../../helpers';
import { FsBackend, HookedBackend, listPaths, makeStore, reopen, writeForeignLock } from './helpers';

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
  const lock = await Lock.take(repo, true, { operation: 'prune' });
  expect(() => lock.assertFresh()).not.toThrow();
  expect(() => lock.assertFresh(Date.now() + LOCK_STALE_MS)).toThrow(/not refreshed/);
  await lock.release();
});
