/**
 * Readers beside writers: index files appear while a reader lists, loads or restores. The reader
 * must finish what it started and pick the new files up when it loads the index again.
 */
import { join } from 'node:path';
import { checkRepository, copySnapshots, findSnapshot, initRepository, openRepository, restoreImage, type Repository } from '../../../engine';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';
import { FsBackend, HookedBackend, backupBytes, expectRestores, listPaths, makeStore, reopen } from './helpers';

const CHUNK = 64 * 1024;
let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('scwb-readers-');
});
afterEach(() => dir.cleanup());

it('an index file that appears while a reader loads the index and restores', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const oldImg = prng(61)(24 * CHUNK);
  const old = await backupBytes(repo, dir.path, 'old.img', oldImg);
  const newImg = prng(62)(24 * CHUNK);

  const hooked = new HookedBackend(await FsBackend.open(repoPath));
  const reader: Repository = await reopen(hooked);
  let written: string | undefined;
  // The first time the reader reads an index file, another process finishes a backup.
  hooked.beforeGet = async (path) => {
    if (written || !path.startsWith('index/')) return;
    written = 'pending';
    written = (await backupBytes(await reopen(repoPath), dir.path, 'new.img', newImg)).id;
  };
  const target = join(dir.path, 'old.out');
  await restoreImage(reader, await findSnapshot(reader, old.id), target);
  expect(written).toMatch(/^[0-9a-f]{64}$/);
  expect((await listPaths(hooked.inner, 'index')).length).toBeGreaterThan(1);
  await expectRestores(reader, old.id, oldImg, dir.path);
  // The same reader restores the new snapshot: restore loads the index files that appeared.
  await expectRestores(reader, written as string, newImg, dir.path);
});

// KNOWN BUG in engine/check.ts (not this suite's module): check loads the index files before it
// lists the snapshots, so a backup that completes in between has its new snapshot reported as
// needing unindexed chunks. Fix: list snapshots first (a manifest is written after its index
// files), or reload the index (repo.loadIndex()) before reporting missing chunks. Flip to it() then.
it('check while a backup finishes: the new snapshot is not reported as damage', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  await backupBytes(repo, dir.path, 'a.img', prng(63)(8 * CHUNK));
  const hooked = new HookedBackend(await FsBackend.open(repoPath));
  let done = false;
  // After check has read the index files, and before it lists snapshots, a backup completes.
  hooked.beforeList = async (d) => {
    if (d !== 'snapshots' || done) return;
    done = true;
    await backupBytes(await reopen(repoPath), dir.path, 'b.img', prng(64)(8 * CHUNK));
  };
  const result = await checkRepository(await reopen(hooked));
  expect(done).toBe(true);
  expect(result.snapshots).toBe(2);
  expect(result.errors).toEqual([]);
});

it('copy while a backup into the source finishes: the new snapshot is copied whole', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const aImg = prng(65)(8 * CHUNK);
  await backupBytes(repo, dir.path, 'a.img', aImg);
  const targetPath = join(dir.path, 'target');
  await initRepository(targetPath, PASS, { ...TEST_INIT, packSize: 1 << 20 });
  const hooked = new HookedBackend(await FsBackend.open(repoPath));
  const bImg = prng(66)(8 * CHUNK);
  let late: string | undefined;
  // A backup finishes just as copy lists the source's snapshots (the catalog): its snapshot is
  // listed, and its index files must be loaded too.
  hooked.beforeList = async (d) => {
    if (d === 'catalog' && !late) late = (await backupBytes(await reopen(repoPath), dir.path, 'b.img', bImg)).id;
  };
  const r = await copySnapshots(await reopen(hooked), await openRepository(targetPath, PASS));
  expect(r.copied).toHaveLength(2);
  const copiedLate = r.copied.find((c) => c.source === late);
  await expectRestores(await openRepository(targetPath, PASS), copiedLate?.target as string, bImg, dir.path);
});
