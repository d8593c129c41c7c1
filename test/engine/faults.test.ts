import { copyFile, readdir, readFile, stat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BackupError, DamagedObjectError, FsBackend, NotFoundError, RawFileSource, TargetExistsError, UnsupportedConfigError, WrongPassphraseError,
  backupImage, checkRepository, findSnapshot, initRepository, listSnapshots, openRepository, restoreImage,
  type Backend, type Repository,
} from '../../engine';
import { PASS, TEST_INIT, makeImage, tempDir, writeImage } from '../helpers';

const SIZE = 8 * 1024 * 1024;

async function setup(dir: string, packSize = 1 << 20): Promise<{ repoPath: string; imgPath: string; repo: Repository }> {
  const repoPath = join(dir, 'repo');
  const imgPath = await writeImage(dir, 'disk.img', makeImage(SIZE, 3));
  const repo = await initRepository(repoPath, PASS, { ...TEST_INIT, packSize });
  return { repoPath, imgPath, repo };
}

async function backupFile(repo: Repository, path: string) {
  const src = await RawFileSource.open(path);
  try {
    return await backupImage(repo, src);
  } finally {
    await src.close();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  return out.sort();
}

async function flipByte(path: string, at: number): Promise<void> {
  const data = await readFile(path);
  data[at] ^= 0x40;
  await writeFile(path, data);
}

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.cleanup();
});

it('refuses a wrong passphrase with a typed error', async () => {
  const { repoPath } = await setup(dir.path);
  await expect(openRepository(repoPath, 'not the passphrase')).rejects.toBeInstanceOf(WrongPassphraseError);
});

it('says there is no repository when the config is missing, and refuses an unknown version', async () => {
  const { repoPath } = await setup(dir.path);
  await expect(openRepository(join(dir.path, 'nowhere'), PASS)).rejects.toThrow(/no repository at .*nowhere/);
  const config = JSON.parse(await readFile(join(repoPath, 'config'), 'utf8'));
  await rm(join(repoPath, 'config'));
  await expect(openRepository(repoPath, PASS)).rejects.toThrow(/has no config/);
  await writeFile(join(repoPath, 'config'), JSON.stringify({ ...config, version: 7 }));
  await expect(openRepository(repoPath, PASS)).rejects.toThrow(UnsupportedConfigError);
  await expect(openRepository(repoPath, PASS)).rejects.toThrow(/version 7 is not supported/);
  await writeFile(join(repoPath, 'config'), 'garbage');
  await expect(openRepository(repoPath, PASS)).rejects.toThrow(/is not JSON/);
});

it('refuses to init over an existing repository', async () => {
  const { repoPath } = await setup(dir.path);
  await expect(initRepository(repoPath, PASS, TEST_INIT)).rejects.toThrow(/already holds a repository/);
});

it('reports a bit-flipped pack in check, and restore refuses the damaged part naming it', async () => {
  const { repoPath, imgPath, repo } = await setup(dir.path);
  const snap = await backupFile(repo, imgPath);
  const packs = await filesUnder(join(repoPath, 'packs'));
  expect(packs.length).toBeGreaterThan(1);
  await flipByte(packs[0], 100);
  const packName = packs[0].slice(packs[0].lastIndexOf('/') + 1);

  const reopened = await openRepository(repoPath, PASS);
  const structural = await checkRepository(reopened);
  expect(structural.ok).toBe(true); // the structure is intact; only reading the data finds it
  const result = await checkRepository(await openRepository(repoPath, PASS), { readData: true });
  expect(result.ok).toBe(false);
  expect(result.errors.map((e) => e.object)).toContain(`packs/${packName.slice(0, 2)}/${packName}`);

  const target = join(dir.path, 'out.img');
  const err = await restoreImage(reopened, snap, target).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DamagedObjectError);
  expect((err as Error).message).toContain(packName);
  await expect(stat(target)).rejects.toThrow(); // nothing half-written under the target's name
  expect((await readdir(dir.path)).filter((n) => n.startsWith('out.img'))).toEqual([]);
});

it('reports a truncated pack, index file and snapshot by name', async () => {
  const { repoPath, imgPath, repo } = await setup(dir.path);
  await backupFile(repo, imgPath);
  await backupFile(repo, await writeImage(dir.path, 'other.img', makeImage(SIZE, 4)));
  const [pack] = await filesUnder(join(repoPath, 'packs'));
  const [index] = await filesUnder(join(repoPath, 'index'));
  const [snapshot] = await filesUnder(join(repoPath, 'snapshots'));
  for (const f of [pack, index, snapshot]) {
    const data = await readFile(f);
    await writeFile(f, data.subarray(0, data.length - 10));
  }
  const result = await checkRepository(await openRepository(repoPath, PASS), { readData: true });
  const objects = result.errors.map((e) => e.object);
  const rel = (f: string) => f.slice(repoPath.length + 1);
  expect(objects).toEqual(expect.arrayContaining([rel(pack), rel(index), rel(snapshot)]));
  // The damaged snapshot is reported by name when its file is read; the other one stays usable.
  // (A listing the catalog answers reads no manifest: FORMAT.md §8.2.)
  const listing = await listSnapshots(await openRepository(repoPath, PASS), {}, { fromFiles: true });
  expect(listing.damaged.map((d) => `snapshots/${d.id}`)).toEqual([rel(snapshot)]);
  expect(listing.snapshots).toHaveLength(1);
  expect((await listSnapshots(await openRepository(repoPath, PASS))).snapshots).toHaveLength(2);
});

it('finds snapshots by unique prefix and says when one is missing or ambiguous', async () => {
  const { imgPath, repo } = await setup(dir.path);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await backupFile(repo, imgPath)).id);
  expect((await findSnapshot(repo, ids[1].slice(0, 10))).id).toBe(ids[1]);
  expect((await findSnapshot(repo, 'latest')).id).toBe(ids[2]);
  await expect(findSnapshot(repo, 'ffff0000ffff')).rejects.toBeInstanceOf(NotFoundError);
  await expect(findSnapshot(repo, 'not-an-id')).rejects.toThrow(/not "latest" or a snapshot id/);
  // Two real ids rarely share 4 hex digits, so make a second snapshot name that shares 8 with the
  // first (a copy of its file: ambiguity is decided on names, before anything is read).
  const twin = ids[0].slice(0, 8) + (ids[0][8] === '0' ? '1' : '0') + ids[0].slice(9);
  await copyFile(join(repo.location, 'snapshots', ids[0]), join(repo.location, 'snapshots', twin));
  await expect(findSnapshot(repo, ids[0].slice(0, 8))).rejects.toThrow(/ambiguous: it matches/);
  expect((await findSnapshot(repo, ids[0].slice(0, 9))).id).toBe(ids[0]);
});

it('refuses to restore over an existing target unless asked', async () => {
  const { imgPath, repo } = await setup(dir.path);
  const snap = await backupFile(repo, imgPath);
  const target = await writeImage(dir.path, 'exists.img', Buffer.from('keep me'));
  await expect(restoreImage(repo, snap, target)).rejects.toBeInstanceOf(TargetExistsError);
  expect(await readFile(target, 'utf8')).toBe('keep me');
  await restoreImage(repo, snap, target, { overwrite: true });
  expect((await readFile(target)).equals(await readFile(imgPath))).toBe(true);
});

/** A backend that dies after `allowed` puts, like a process killed mid-backup or a full disk. */
function failingAfter(inner: Backend, allowed: number, error: () => Error): Backend & { puts: number } {
  const b = {
    puts: 0,
    location: inner.location,
    get: inner.get.bind(inner),
    list: inner.list.bind(inner),
    delete: inner.delete.bind(inner),
    stat: inner.stat.bind(inner),
    close: inner.close.bind(inner),
    async put(path: string, data: Uint8Array) {
      if (path.startsWith('packs/') && ++b.puts > allowed) throw error();
      return inner.put(path, data);
    },
  };
  return b;
}

it('leaves a valid store when a backup dies part-way, and the next backup reuses its packs', async () => {
  const { repoPath, imgPath } = await setup(dir.path, 1 << 20);
  const big = await writeImage(dir.path, 'big.img', makeImage(16 * 1024 * 1024, 5));
  const backend = failingAfter(await FsBackend.open(repoPath), 3, () => new BackupError('STORE_FULL', 'no space left on the store\'s disk'));
  const repo = await openRepository(backend, PASS);
  const src = await RawFileSource.open(big);
  await expect(backupImage(repo, src)).rejects.toThrow(/no space left/);
  await src.close();
  expect(await listSnapshots(await openRepository(repoPath, PASS))).toEqual({ snapshots: [], damaged: [] });

  const check = await checkRepository(await openRepository(repoPath, PASS), { readData: true });
  expect(check.errors).toEqual([]);
  expect(check.packs).toBe(3);

  const retry = await openRepository(repoPath, PASS);
  const snap = await backupFile(retry, big);
  expect(snap.stats.bytesNew).toBeLessThan(snap.size - snap.stats.holeBytes);
  const out = join(dir.path, 'big.out');
  await restoreImage(retry, snap, out);
  expect((await readFile(out)).equals(await readFile(big))).toBe(true);
  expect((await checkRepository(await openRepository(repoPath, PASS), { readData: true })).errors).toEqual([]);
  void imgPath;
});

it('never overwrites an object in the local-folder backend', async () => {
  const backend = await FsBackend.open(join(dir.path, 'b'), { create: true });
  await backend.put('keys/a', Buffer.from('one'));
  await expect(backend.put('keys/a', Buffer.from('two'))).rejects.toThrow(/never overwrites/);
  expect(Buffer.from(await backend.get('keys/a')).toString()).toBe('one');
  await expect(backend.put('../escape', Buffer.from('x'))).rejects.toThrow(/not a relative object path/);
});
