/**
 * One bad manifest must never take the store down (FORMAT.md §10, §12.2): a manifest that does not
 * verify (its bytes are not what its name says), does not open, or does not validate is reported by
 * name and skipped; every other snapshot stays listable, restorable, forgettable and prunable; check
 * reports it; prune never removes what it may reference without being told to; forget ID removes it.
 * Listings answered by the catalog (§8.2) read no manifest: they list a damaged one by the summary
 * its backup recorded (and never list a file no backup recorded), and the damage shows where the
 * file is read; without a catalog, listings read the files and name each damaged one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  DamagedObjectError, PruneRefusedError, checkRepository, copySnapshots, findSnapshot, forgetSnapshots, initRepository, listSnapshots,
  pruneRepository, removeSnapshots, type DamagedSnapshot, type Repository, type Snapshot,
} from '../../../engine';
import { AAD } from '../../../engine/crypto/seal';
import { BlobWriter } from '../../../engine/store/blob-writer';
import { DiskMapWriter, saveSnapshot } from '../../../engine/store/snapshots';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';
import { backupBytes, expectCheckClean, expectRestores, listPaths, makeStore, reopen } from './helpers';

const CHUNK = 64 * 1024;
let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('scwb-damaged-');
});
afterEach(() => dir.cleanup());

/** Put the bytes of snapshot `from` under the name of snapshot `to` (a restored or swapped file). */
async function swapInto(repo: Repository, from: string, to: string): Promise<void> {
  const bytes = await repo.backend.get(`snapshots/${from}`);
  await repo.backend.delete(`snapshots/${to}`);
  await repo.backend.put(`snapshots/${to}`, bytes);
}

/** A file named by the SHA-256 of its bytes that is no sealed object of this store. */
async function foreignFile(repo: Repository): Promise<string> {
  const bytes = randomBytes(300);
  const id = createHash('sha256').update(bytes).digest('hex');
  await repo.backend.put(`snapshots/${id}`, bytes);
  return id;
}

/** A manifest sealed as a writer would, bypassing saveSnapshot's check: it opens but does not validate. */
async function invalidManifest(repo: Repository, json: unknown): Promise<string> {
  return repo.saveObject('snapshots', AAD.snapshot, Buffer.from(JSON.stringify(json)));
}

const withoutId = ({ id: _id, ...m }: Snapshot) => m;

it('lists, finds and restores around damaged manifests, naming each; a swapped file is refused', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const one = prng(1)(8 * CHUNK);
  const two = prng(2)(8 * CHUNK);
  const a = await backupBytes(repo, dir.path, 'a.img', one);
  const b = await backupBytes(repo, dir.path, 'b.img', two);
  const c = await backupBytes(repo, dir.path, 'c.img', prng(3)(8 * CHUNK));
  // c's file now holds a's bytes: they open with the store's key, and used to pass for c (restore c
  // gave a's disk). b and a stay good; two more: a foreign file, and a manifest that fails the schema.
  await swapInto(repo, a.id, c.id);
  const foreign = await foreignFile(repo);
  const invalid = await invalidManifest(repo, { ...withoutId(b), size: 2 ** 53 });

  const fresh = await reopen(repoPath);
  // The catalog answers: c is listed by its summary; the files no backup recorded are not listed.
  // `latest` reads c's file, finds it damaged, and goes to the files, which name all three.
  const listed = await listSnapshots(fresh);
  expect(listed.snapshots.map((s) => s.id)).toEqual([a.id, b.id, c.id]);
  expect(listed.damaged).toEqual([]);
  const toldFirst: DamagedSnapshot[] = [];
  expect((await findSnapshot(fresh, 'latest', { onDamaged: (d) => toldFirst.push(d) })).id).toBe(b.id);
  expect(toldFirst.map((d) => d.id).sort()).toEqual([c.id, foreign, invalid].sort());

  // Without a catalog (removed by hand), listings read the files and name every damaged manifest.
  for (const p of await listPaths(repo.backend, 'catalog')) await repo.backend.delete(p);
  const { snapshots, damaged } = await listSnapshots(fresh);
  expect(snapshots.map((s) => s.id)).toEqual([a.id, b.id]);
  const byId = new Map(damaged.map((d) => [d.id, d]));
  expect(damaged.map((d) => d.id).sort()).toEqual([c.id, foreign, invalid].sort());
  expect(byId.get(c.id)).toMatchObject({ kind: 'unreadable', message: expect.stringMatching(new RegExp(`^snapshots/${c.id} is damaged: its contents do not match its name`)) });
  expect(byId.get(foreign)).toMatchObject({ kind: 'unreadable', message: expect.stringMatching(/authentication failed/) });
  expect(byId.get(invalid)).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/snapshot is invalid: size: Number must be less than or equal to 9007199254740991/) });

  // By id: refused, by name. `latest`: the newest readable one, the others told to onDamaged.
  const err = await findSnapshot(fresh, c.id.slice(0, 10)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DamagedObjectError);
  expect((err as Error).message).toContain(`snapshots/${c.id}`);
  const told: DamagedSnapshot[] = [];
  expect((await findSnapshot(fresh, 'latest', { onDamaged: (d) => told.push(d) })).id).toBe(b.id);
  expect(told).toEqual(damaged);
  await expectRestores(fresh, a.id, one, dir.path);
  await expectRestores(fresh, 'latest', two, dir.path);

  // check: one error per damaged manifest, named; the rest is clean.
  const check = await checkRepository(await reopen(repoPath), { readData: true });
  expect(check.ok).toBe(false);
  expect(check.errors.map((e) => e.object).sort()).toEqual([c.id, foreign, invalid].map((id) => `snapshots/${id}`).sort());
  expect(check.damaged).toEqual(damaged);
  expect(check.snapshots).toBe(5);
});

it('forget: a policy leaves damaged manifests alone and says so; forget ID removes them', async () => {
  const repo = await makeStore(join(dir.path, 'repo'));
  const a = await backupBytes(repo, dir.path, 'disk.img', prng(1)(4 * CHUNK));
  const x = await backupBytes(repo, dir.path, 'disk.img', prng(2)(4 * CHUNK));
  const z = await backupBytes(repo, dir.path, 'disk.img', prng(3)(4 * CHUNK));
  // x's file now holds a's bytes; the catalog still lists x by the summary its backup recorded. The
  // group loses snapshots, so its manifests are read: x cannot be placed and stays, named.
  await swapInto(repo, a.id, x.id);
  const first = await forgetSnapshots(repo, { policy: { last: 1 } });
  expect(first.removed).toEqual([a.id]);
  expect(first.damaged.map((d) => d.id)).toEqual([x.id]);
  expect(first.warnings.filter((w) => /the policy cannot place it, so it stays/.test(w))).toHaveLength(1);

  // Files no backup recorded, seen once the catalog is gone and the files answer.
  const foreign = await foreignFile(repo);
  const invalid = await invalidManifest(repo, { ...withoutId(a), hostname: 7 });
  for (const p of await listPaths(repo.backend, 'catalog')) await repo.backend.delete(p);
  const policy = await forgetSnapshots(repo, { policy: { last: 1 } });
  expect(policy.removed).toEqual([]);
  expect(policy.damaged.map((d) => d.id).sort()).toEqual([x.id, foreign, invalid].sort());
  expect(policy.warnings.filter((w) => /the policy cannot place it, so it stays/.test(w))).toHaveLength(3);
  expect((await listSnapshots(repo)).damaged).toHaveLength(3);

  const dry = await removeSnapshots(repo, [foreign.slice(0, 8), invalid], { dryRun: true });
  expect(dry.removed).toEqual([foreign, invalid]);
  expect(dry.groups[0].remove).toEqual([{ id: foreign }, { id: invalid }]);
  expect(dry.damaged.map((d) => d.id)).toEqual([foreign, invalid]);
  const removed = await removeSnapshots(repo, [foreign.slice(0, 8), invalid]);
  expect(removed.removed).toEqual([foreign, invalid]);
  // The catalog it rewrote from the files holds the one readable snapshot.
  expect((await listSnapshots(repo)).snapshots.map((s) => s.id)).toEqual([z.id]);
  expect((await checkRepository(repo)).damaged.map((d) => d.id)).toEqual([x.id]);
});

it('prune keeps what an invalid manifest still lists, refuses when a manifest cannot be read, and goes on once it is forgotten', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const kept = prng(1)(16 * CHUNK);
  const only = prng(2)(16 * CHUNK);
  await backupBytes(repo, dir.path, 'kept.img', kept);
  const s = await backupBytes(repo, dir.path, 'only.img', only);
  // The only manifest that references `only`'s data opens but fails validation (a writer's bug).
  const invalid = await invalidManifest(repo, { ...withoutId(s), size: 2 ** 53 });
  await removeSnapshots(repo, [s.id]);

  const first = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(first.damaged.map((d) => d.id)).toEqual([invalid]);
  expect(first.warnings.some((w) => w.includes(`snapshots/${invalid}`) && /prune keeps the 1 map page\(s\) it lists/.test(w))).toBe(true);
  expect(first.packs.removed + first.packs.repacked).toBe(0);
  // Its data is all still there: the same manifest, made valid again, restores.
  const back = await saveSnapshot(await reopen(repoPath), withoutId(s));
  await expectRestores(await reopen(repoPath), back, only, dir.path);
  await removeSnapshots(repo, [back]);

  // A manifest prune cannot read: it refuses, naming it, and removes nothing.
  const foreign = await foreignFile(repo);
  const before = await listPaths(repo.backend, '');
  const refused = await pruneRepository(await reopen(repoPath), { graceMs: 0 }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(PruneRefusedError);
  expect((refused as Error).message).toMatch(new RegExp(`snapshots/${foreign} cannot be read, so prune cannot tell which data it needs .*"scw-backup forget ID".*--ignore-damaged-snapshots`));
  expect(await listPaths(repo.backend, '')).toEqual(before.filter((p) => !p.startsWith('locks/')));
  const dry = await pruneRepository(await reopen(repoPath), { graceMs: 0, dryRun: true }).catch((e: unknown) => e);
  expect(dry).toBeInstanceOf(PruneRefusedError);

  // Told to ignore it, prune goes on and says so; the invalid manifest still protects its data.
  const ignoring = await pruneRepository(await reopen(repoPath), { graceMs: 0, dryRun: true, ignoreDamagedSnapshots: true });
  expect(ignoring.warnings.some((w) => w.includes(`snapshots/${foreign}`) && /ignored as asked/.test(w))).toBe(true);

  // Forgetting both lets prune remove the data only the invalid one referenced.
  await removeSnapshots(repo, [foreign, invalid]);
  const last = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(last.damaged).toEqual([]);
  expect(last.packs.removed + last.packs.repacked).toBeGreaterThan(0);
  await expectCheckClean(repoPath);
  await expectRestores(await reopen(repoPath), 'latest', kept, dir.path);
});

it('a manifest an earlier version saved for a 2^53-byte disk is found damaged by check, its map page kept by prune, and forget removes it', async () => {
  const repoPath = join(dir.path, 'repo');
  const repo = await makeStore(repoPath);
  const good = await backupBytes(repo, dir.path, 'disk.img', prng(1)(4 * CHUNK));
  // What backup wrote for the image: one map page holding one hole of 2^53 bytes.
  const writer = new BlobWriter(repo);
  const map = new DiskMapWriter(repo, writer);
  await map.hole(0, 2 ** 53);
  const pages = await map.finish();
  await writer.flush();
  const old = await invalidManifest(repo, { ...withoutId(good), size: 2 ** 53, map: pages, source: { format: 'qcow2', location: '/p.qcow2' } });

  // No backup recorded it in the catalog: listings do not show it; check names it.
  expect((await listSnapshots(await reopen(repoPath))).snapshots.map((x) => x.id)).toEqual([good.id]);
  const { damaged } = await checkRepository(await reopen(repoPath));
  expect(damaged).toEqual([{ id: old, kind: 'invalid', message: expect.stringMatching(new RegExp(`^snapshots/${old} is damaged: snapshot is invalid: size: Number must be less than or equal to 9007199254740991`)) }]);
  const pruned = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(pruned.warnings).toEqual([expect.stringMatching(/prune keeps the 1 map page\(s\) it lists/)]);
  expect(pruned.blobs.used).toBe(pruned.blobs.total);
  await removeSnapshots(repo, [old]);
  const after = await pruneRepository(await reopen(repoPath), { graceMs: 0 });
  expect(after.blobs.used).toBe(after.blobs.total - 1);
  await expectCheckClean(repoPath);
});

it('copy skips a damaged source manifest and reports it, and copies the others', async () => {
  const a = await makeStore(join(dir.path, 'a'));
  const b = await initRepository(join(dir.path, 'b'), PASS, { ...TEST_INIT, packSize: 1 << 20 });
  const one = prng(1)(4 * CHUNK);
  const s1 = await backupBytes(a, dir.path, 'disk.img', one);
  const s2 = await backupBytes(a, dir.path, 'disk.img', prng(2)(4 * CHUNK));
  await swapInto(a, s1.id, s2.id);
  const r = await copySnapshots(await reopen(join(dir.path, 'a')), b);
  expect(r.copied.map((c) => c.source)).toEqual([s1.id]);
  expect(r.damaged.source.map((d) => d.id)).toEqual([s2.id]);
  expect(r.damaged.target).toEqual([]);
  await expectRestores(await reopen(join(dir.path, 'b')), r.copied[0].target, one, dir.path);
});
