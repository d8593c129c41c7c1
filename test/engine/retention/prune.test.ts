import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PruneRefusedError, forgetSnapshots, pruneRepository, removeSnapshots, type ObjectInfo, type Repository, type Snapshot,
} from '../../../engine';
import { AAD } from '../../../engine/crypto/seal';
import type { BlobEntry } from '../../../engine/store/blob';
import { decodeIndex, encodeIndex } from '../../../engine/store/index-file';
import { packPath } from '../../../engine/store/pack';
import { sealObject } from '../../../engine/store/sealed-object';
import { createHash } from 'node:crypto';
import { prng, tempDir } from '../../helpers';
import { FsBackend, HookedBackend, backupBytes, expectCheckClean, expectRestores, listPaths, makeStore, reopen } from './helpers';

const CHUNK = 64 * 1024;
let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('scwb-prune-');
});
afterEach(() => dir.cleanup());

/** img2 keeps every fourth chunk of img1 and replaces the others: img1's packs end up 3/4 unused. */
function images(): { img1: Buffer; img2: Buffer } {
  const img1 = prng(1)(64 * CHUNK);
  const img2 = Buffer.from(img1);
  const fresh = prng(2);
  for (let c = 0; c < 64; c++) if (c % 4 !== 0) fresh(CHUNK).copy(img2, c * CHUNK);
  return { img1, img2 };
}

async function twoSnapshots(repoPath: string): Promise<{ repo: Repository; a: Snapshot; b: Snapshot; img1: Buffer; img2: Buffer }> {
  const { img1, img2 } = images();
  const repo = await makeStore(repoPath);
  const a = await backupBytes(repo, dir.path, 'one.img', img1);
  const b = await backupBytes(repo, dir.path, 'two.img', img2);
  return { repo: await reopen(repoPath), a, b, img1, img2 };
}

it('a dry run reports and changes nothing', async () => {
  const repoPath = join(dir.path, 'repo');
  const { repo, a } = await twoSnapshots(repoPath);
  await removeSnapshots(repo, [a.id]);
  const before = await listPaths(repo.backend, '');
  const r = await pruneRepository(repo, { dryRun: true, graceMs: 0 });
  expect(r.dryRun).toBe(true);
  expect(r.packs.repacked).toBeGreaterThan(0);
  expect(r.bytes.removed).toBeGreaterThan(0);
  expect(await listPaths(repo.backend, '')).toEqual(before);
});

it('repacks mostly unused packs, keeps what snapshots need, and leaves a clean store', async () => {
  const repoPath = join(dir.path, 'repo');
  const { repo, a, b, img2 } = await twoSnapshots(repoPath);
  const packsBefore = await listPaths(repo.backend, 'packs');
  await removeSnapshots(repo, [a.id]);
  const r = await pruneRepository(repo, { graceMs: 0 });
  expect(r.snapshots).toBe(1);
  // img1's packs hold one used chunk in four: all repacked (threshold 50%), none kept as is.
  expect(r.packs.repacked).toBeGreaterThanOrEqual(4);
  expect(r.packs.written).toBeGreaterThanOrEqual(1);
  expect(r.bytes.removed - r.bytes.written).toBeGreaterThan(40 * CHUNK);
  expect(r.notDeleted).toEqual([]);
  const packsAfter = await listPaths(repo.backend, 'packs');
  expect(packsAfter.length).toBeLessThan(packsBefore.length);
  expect(await listPaths(repo.backend, 'locks')).toEqual([]);
  // Nothing unindexed, nothing missing, and every blob verifies.
  await expectCheckClean(repoPath, { warnings: false });
  await expectRestores(await reopen(repoPath), b.id, img2, dir.path);

  // A second prune has nothing left to do and rewrites nothing.
  const again = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect({ ...again.packs, total: 0 }).toMatchObject({ repacked: 0, removed: 0, unindexedRemoved: 0, written: 0 });
  expect(again.indexFiles.written).toBe(0);
});

it('keeps partly used packs below the threshold, and repacks within --max-repack', async () => {
  const repoPath = join(dir.path, 'repo');
  const { repo, a, b, img2 } = await twoSnapshots(repoPath);
  await removeSnapshots(repo, [a.id]);
  const kept = await pruneRepository(repo, { graceMs: 0, repackThreshold: 80, dryRun: true });
  expect(kept.packs.repacked).toBe(0);
  const capped = await pruneRepository(repo, { graceMs: 0, maxRepack: { bytes: 1.1 * (1 << 20) } });
  expect(capped.packs.repacked).toBe(1);
  await expectCheckClean(repoPath, { warnings: false });
  await expectRestores(await reopen(repoPath), b.id, img2, dir.path);
});

it('removes packs no snapshot needs at all, and never touches packs younger than the grace period', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const keepImg = prng(5)(8 * CHUNK);
  const goneImg = prng(6)(40 * CHUNK);
  const keep = await backupBytes(repo, dir.path, 'keep.img', keepImg);
  const gone = await backupBytes(repo, dir.path, 'gone.img', goneImg);
  await removeSnapshots(await reopen(repoPath), [gone.id]);

  const young = await pruneRepository(await reopen(repoPath));
  expect(young.packs.youngKept).toBeGreaterThan(0);
  expect(young.packs.removed + young.packs.repacked).toBe(0);
  expect(young.bytes.removed).toBe(0);

  const r = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(r.packs.removed).toBeGreaterThanOrEqual(2);
  await expectCheckClean(repoPath, { warnings: false });
  await expectRestores(await reopen(repoPath), keep.id, keepImg, dir.path);
});

it('removes unindexed packs (interrupted backups) only once they are older than the grace period', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const img = prng(7)(4 * CHUNK);
  const snap = await backupBytes(repo, dir.path, 'a.img', img);
  // A pack that no index lists, as a backup killed before its index leaves.
  const stray = prng(8)(5000);
  const strayId = createHash('sha256').update(stray).digest('hex');
  await repo.backend.put(packPath(strayId), stray);

  const fresh = await pruneRepository(await reopen(repoPath));
  expect(fresh.packs.unindexedKept).toBe(1);
  expect(await repo.backend.stat(packPath(strayId))).toBeDefined();

  const old = new Date(Date.now() - 2 * 3600_000);
  await utimes(join(repoPath, ...packPath(strayId).split('/')), old, old);
  const r = await pruneRepository(await reopen(repoPath));
  expect(r.packs.unindexedRemoved).toBe(1);
  expect(await repo.backend.stat(packPath(strayId))).toBeUndefined();
  await expectCheckClean(repoPath, { warnings: false });
  await expectRestores(await reopen(repoPath), snap.id, img, dir.path);
});

/** A store seen without some of its index files: a writer that loaded the index before they existed. */
class HidingBackend extends HookedBackend {
  readonly hidden = new Set<string>();
  /** List each folder in reverse order (index files read in another order than the last prune's). */
  reversed = false;
  override async *list(dir: string): AsyncIterable<ObjectInfo> {
    const all: ObjectInfo[] = [];
    for await (const o of this.inner.list(dir)) if (!this.hidden.has(o.path)) all.push(o);
    all.sort((x, y) => x.path.localeCompare(y.path));
    yield* this.reversed ? all.reverse() : all;
  }
}

it('keeps one copy of blobs that two writers stored twice, and a second prune, reading the index in another order, has nothing to do', async () => {
  for (const seed of [21, 22, 23]) {
    const repoPath = join(dir.path, `repo-${seed}`);
    await makeStore(repoPath);
    // Two disks with common blocks; the second writer did not see the first's index (they ran at
    // once): it stored them again, every third chunk of its packs, the others its own data. Which
    // copy prune keeps decides which packs look partly unused.
    const base = prng(seed)(24 * CHUNK);
    const img1 = Buffer.concat([base, prng(seed + 100)(8 * CHUNK)]);
    const own = prng(seed + 200);
    const img2 = Buffer.concat(Array.from({ length: 72 }, (_, i) => (i % 3 === 0 ? base.subarray((i / 3) * CHUNK, (i / 3 + 1) * CHUNK) : own(CHUNK))));
    const s1 = await backupBytes(await reopen(repoPath), dir.path, `a-${seed}.img`, img1, 'h1');
    const blind = new HidingBackend(await FsBackend.open(repoPath));
    for (const p of await listPaths(blind.inner, 'index')) blind.hidden.add(p);
    const s2 = await backupBytes(await reopen(blind), dir.path, `b-${seed}.img`, img2, 'h2');

    const r = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
    expect(r.blobs.total - r.blobs.used).toBe(24); // the common blocks, stored twice
    await expectCheckClean(repoPath, { warnings: false });
    const again = new HidingBackend(await FsBackend.open(repoPath));
    again.reversed = true;
    const second = await pruneRepository(await reopen(again), { graceMs: 0, dryRun: true });
    expect(second.packs).toMatchObject({ removed: 0, repacked: 0 });
    expect(second.blobs.total - second.blobs.used).toBeLessThanOrEqual(r.blobs.total - r.blobs.used);
    await expectRestores(await reopen(repoPath), s1.id, img1, dir.path);
    await expectRestores(await reopen(repoPath), s2.id, img2, dir.path);
  }
});

it('refuses to run on a store that already lacks data a snapshot needs, and deletes nothing', async () => {
  const repoPath = join(dir.path, 'repo');
  const { repo } = await twoSnapshots(repoPath);
  // Both snapshots are kept: every pack holds something one of them needs.
  await repo.backend.delete((await listPaths(repo.backend, 'packs'))[0]);
  const listed = await listPaths(repo.backend, '');
  const err = await pruneRepository(await reopen(repoPath), { graceMs: 0 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PruneRefusedError);
  expect((err as Error).message).toMatch(/missing data: snapshot [0-9a-f]{12} needs .*which no stored pack holds.*check/);
  expect(await listPaths(repo.backend, '')).toEqual(listed);
});

it('drops an indexed pack that is gone when nothing needs it', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const keepImg = prng(10)(4 * CHUNK);
  const keep = await backupBytes(repo, dir.path, 'keep.img', keepImg);
  const packsOfKeep = await listPaths(repo.backend, 'packs');
  const gone = await backupBytes(repo, dir.path, 'gone.img', prng(11)(20 * CHUNK));
  await removeSnapshots(await reopen(repoPath), [gone.id]);
  const goneOnly = (await listPaths(repo.backend, 'packs')).filter((p) => !packsOfKeep.includes(p));
  await repo.backend.delete(goneOnly[0]);
  const r = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(r.packs.missingDropped).toBe(1);
  expect(r.warnings.join('\n')).toMatch(/missing from the store/);
  await expectCheckClean(repoPath, { warnings: false });
  await expectRestores(await reopen(repoPath), keep.id, keepImg, dir.path);
});

it('keeps the packs of an index file that appears while it runs', async () => {
  const repoPath = join(dir.path, 'repo');
  const { a, b, img2 } = await twoSnapshots(repoPath);
  await removeSnapshots(await reopen(repoPath), [a.id]);
  const hooked = new HookedBackend(await FsBackend.open(repoPath));
  const repo = await reopen(hooked);
  // Just before prune looks for newcomers, a writer (whose lock went stale) adds an index file that
  // lists every old pack: none of them may be removed.
  let lists = 0;
  hooked.beforeList = async (d) => {
    if (d !== 'index' || ++lists !== 2) return;
    const packs = new Map<string, BlobEntry[]>();
    for (const path of await listPaths(hooked.inner, 'index')) {
      decodeIndex(await repo.loadObject(path, AAD.index), path, (id, blob) => packs.set(id, [...(packs.get(id) ?? []), { ...blob, id: Buffer.from(blob.id) }]));
    }
    const payload = encodeIndex([...packs].map(([id, blobs]) => ({ id, blobs })));
    const sealed = sealObject(repo.keys.sealer, AAD.index, payload, repo.compressor);
    await hooked.inner.put(`index/${createHash('sha256').update(sealed).digest('hex')}`, sealed);
  };
  const packsBefore = await listPaths(hooked.inner, 'packs');
  const r = await pruneRepository(repo, { graceMs: 0 });
  expect(r.warnings.join('\n')).toMatch(/appeared during prune/);
  // Every pack the newcomer lists is still there; repacking still wrote its new packs.
  const packsAfter = await listPaths(hooked.inner, 'packs');
  expect(packsAfter).toEqual(expect.arrayContaining(packsBefore));
  expect(r.packs.written).toBeGreaterThan(0);
  await expectCheckClean(repoPath);
  await expectRestores(await reopen(repoPath), b.id, img2, dir.path);
});

it('forget then prune: the retention policy decides what goes', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const imgs = [1, 2, 3].map((s) => prng(20 + s)(6 * CHUNK));
  const snaps: Snapshot[] = [];
  for (const img of imgs) snaps.push(await backupBytes(repo, dir.path, 'disk.img', img));
  const f = await forgetSnapshots(await reopen(repoPath), { policy: { last: 1 } });
  expect(f.removed.sort()).toEqual([snaps[0].id, snaps[1].id].sort());
  expect(f.groups).toHaveLength(1);
  expect(f.groups[0].keep.map((k) => k.id)).toEqual([snaps[2].id]);
  const r = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(r.snapshots).toBe(1);
  await expectCheckClean(repoPath, { warnings: false });
  await expectRestores(await reopen(repoPath), snaps[2].id, imgs[2], dir.path);
  expect((await readFile(join(dir.path, 'disk.img'))).equals(imgs[2])).toBe(true);
});
