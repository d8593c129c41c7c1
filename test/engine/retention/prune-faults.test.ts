/**
 * Prune stopped at every write and every delete it makes (as if the process died there: that
 * operation and every later one fail) must leave a store that checks clean and restores, and a
 * later prune must finish the job.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { pruneRepository, removeLocks, removeSnapshots, type PruneResult, type Snapshot } from '../../../engine';
import { prng, tempDir } from '../../helpers';
import { FsBackend, HookedBackend, backupBytes, expectCheckClean, expectRestores, listPaths, makeStore, reopen } from './helpers';

const CHUNK = 64 * 1024;
let dir: { path: string; cleanup: () => Promise<void> };
let template: string;
let kept: Snapshot;
let keptImage: Buffer;
const counts = { put: 0, delete: 0 };

beforeAll(async () => {
  dir = await tempDir('scwb-prune-faults-');
  template = join(dir.path, 'template');
  const repo = await makeStore(template);
  const img1 = prng(31)(32 * CHUNK);
  keptImage = Buffer.from(img1);
  const fresh = prng(32);
  for (let c = 0; c < 32; c++) if (c % 4 !== 0) fresh(CHUNK).copy(keptImage, c * CHUNK);
  const a = await backupBytes(repo, dir.path, 'a.img', img1);
  kept = await backupBytes(repo, dir.path, 'b.img', keptImage);
  const c = await backupBytes(repo, dir.path, 'c.img', prng(33)(24 * CHUNK));
  await removeSnapshots(await reopen(template), [a.id, c.id]);
  // How many writes and deletes a prune that runs to the end makes.
  const copy = join(dir.path, 'count');
  await cp(template, copy, { recursive: true });
  const counting = new HookedBackend(await FsBackend.open(copy));
  counting.beforePut = () => void counts.put++;
  counting.beforeDelete = () => void counts.delete++;
  const r = await pruneRepository(await reopen(counting), { graceMs: 0 });
  expect(r.packs.repacked).toBeGreaterThan(0);
  expect(r.packs.removed).toBeGreaterThan(0);
}, 60_000);
afterAll(() => dir.cleanup());

async function crashAt(kind: 'put' | 'delete', k: number): Promise<void> {
  const path = join(dir.path, `${kind}-${k}`);
  await cp(template, path, { recursive: true });
  const backend = new HookedBackend(await FsBackend.open(path));
  let n = 0;
  const die = () => {
    if (++n >= k) throw new Error(`simulated crash at ${kind} ${k}`);
  };
  if (kind === 'put') backend.beforePut = die;
  else backend.beforeDelete = die;
  const outcome: PruneResult | Error = await pruneRepository(await reopen(backend), { graceMs: 0 }).catch((err: unknown) => err as Error);
  if (outcome instanceof Error) expect(outcome.message).toMatch(/simulated crash/);
  // Dying at the very last delete (its own lock) comes after the work is done: reported, not thrown.
  else expect(outcome.warnings.join('\n')).toMatch(/could not remove our lock.*simulated crash/);

  // The dead process's lock stays behind (its pid is ours here, so it never looks stale) and keeps
  // readers out too: the operator's unlock --remove-all, then the store is whole.
  await removeLocks(await reopen(path), { all: true });
  await expectCheckClean(path);
  await expectRestores(await reopen(path), kept.id, keptImage, dir.path);
  const again = await pruneRepository(await reopen(path), { graceMs: 0 });
  expect(again.notDeleted).toEqual([]);
  await expectCheckClean(path, { warnings: false });
  await expectRestores(await reopen(path), kept.id, keptImage, dir.path);
  // Only the kept snapshot's data is left: nothing unused, nothing unindexed.
  const dry = await pruneRepository(await reopen(path), { graceMs: 0, dryRun: true });
  expect(dry.blobs.used).toBe(dry.blobs.total);
  expect(dry.packs.unindexedRemoved + dry.packs.unindexedKept).toBe(0);
  expect((await listPaths(backend.inner, 'snapshots'))).toEqual([`snapshots/${kept.id}`]);
}

it('counted the operations of a complete prune', () => {
  // lock, repacked pack(s), index file(s); old index files, packs, lock
  expect(counts.put).toBeGreaterThanOrEqual(3);
  expect(counts.delete).toBeGreaterThanOrEqual(4);
});

it('survives dying at every write', async () => {
  for (let k = 1; k <= counts.put; k++) await crashAt('put', k);
}, 120_000);

it('survives dying at every delete', async () => {
  for (let k = 1; k <= counts.delete; k++) await crashAt('delete', k);
}, 120_000);
