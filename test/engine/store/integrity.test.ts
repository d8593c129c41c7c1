/**
 * What whoever can write to the store's bucket or folder can and cannot do unnoticed (FORMAT.md §10,
 * "What a store's owner can still do"), and locks judged by the store's clock (§9). Each case runs
 * on a folder store and on the local S3 server, with the store's objects tampered with directly, as
 * the bucket's owner would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DamagedObjectError, RawFileSource, RepositoryLockedError, WrongPassphraseError, backupImage, checkRepository, copySnapshots,
  findSnapshot, initRepository, listSnapshots, loadSnapshot, openBackend, openRepository, pruneRepository, removeLocks, restoreImage,
  type Backend, type LocationOptions, type Repository, type Snapshot,
} from '../../../engine';
import { AAD } from '../../../engine/crypto/seal';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { PASS, TEST_INIT, makeImage, prng, tempDir, writeImage } from '../../helpers';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('tamper');
  dir = await tempDir('scwb-integrity-');
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

/** A store location and what its owner can do to its objects behind the engine's back. */
interface Kind {
  name: string;
  make(): string;
  overwrite(url: string, path: string, bytes: Uint8Array): Promise<void>;
  age(url: string, path: string, when: Date): Promise<void>;
}

const kinds: Kind[] = [
  {
    name: 'folder',
    make: () => join(dir.path, randomBytes(4).toString('hex')),
    overwrite: (url, path, bytes) => writeFile(join(url, ...path.split('/')), bytes),
    age: (url, path, when) => utimes(join(url, ...path.split('/')), when, when),
  },
  {
    name: 's3',
    make: () => `s3://tamper/${randomBytes(4).toString('hex')}`,
    overwrite: (url, path, bytes) => s3.overwrite('tamper', `${url.slice('s3://tamper/'.length)}/${path}`, bytes),
    age: (url, path, when) => s3.age('tamper', `${url.slice('s3://tamper/'.length)}/${path}`, when),
  },
];

const open = (url: string, options: { onWarning?: (m: string) => void } = {}, pass = PASS) => openRepository(url, pass, { location, ...options });
const backendOf = (url: string): Promise<Backend> => openBackend(url, location);

async function backup(repo: Repository, name: string, data: Buffer): Promise<Snapshot> {
  const src = await RawFileSource.open(await writeImage(dir.path, name, data));
  try {
    return await backupImage(repo, src, { workers: 0, hostname: 'host-a' });
  } finally {
    await src.close();
  }
}

async function paths(backend: Backend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.path);
  return out.sort();
}

describe.each(kinds)('on a $name store', (kind) => {
  it('a snapshot file replaced by an older snapshot\'s bytes is refused, by name', async () => {
    const url = kind.make();
    const repo = await initRepository(url, PASS, { ...TEST_INIT, location });
    const older = await backup(repo, `old-${kind.name}.img`, makeImage(512 * 1024, 1));
    const newer = await backup(repo, `new-${kind.name}.img`, makeImage(512 * 1024, 2));
    const backend = await backendOf(url);
    await kind.overwrite(url, `snapshots/${newer.id}`, await backend.get(`snapshots/${older.id}`));
    const err = await findSnapshot(await open(url), newer.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamagedObjectError);
    expect((err as Error).message).toContain(`snapshots/${newer.id} is damaged: its contents do not match its name`);
    // The older snapshot itself is untouched and restores.
    const out = join(dir.path, `older-${kind.name}.out`);
    await restoreImage(await open(url), await findSnapshot(await open(url), older.id), out);
    expect((await readFile(out)).equals(makeImage(512 * 1024, 1))).toBe(true);
  });

  it('an index file replaced by another\'s bytes is refused by name, and check reports it', async () => {
    const url = kind.make();
    const repo = await initRepository(url, PASS, { ...TEST_INIT, location });
    await backup(repo, `a-${kind.name}.img`, makeImage(512 * 1024, 3));
    await backup(repo, `b-${kind.name}.img`, makeImage(512 * 1024, 4));
    const backend = await backendOf(url);
    const [first, second] = await paths(backend, 'index');
    await kind.overwrite(url, second, await backend.get(first));
    await expect((await open(url)).loadIndex()).rejects.toThrow(`${second} is damaged: its contents do not match its name`);
    const check = await checkRepository(await open(url));
    expect(check.errors.map((e) => e.object)).toContain(second);
  });

  it('an edited or downgraded config is refused, naming the config', async () => {
    const url = kind.make();
    await initRepository(url, PASS, { ...TEST_INIT, location });
    const backend = await backendOf(url);
    const original = JSON.parse(Buffer.from(await backend.get('config')).toString()) as Record<string, unknown>;
    expect(original).toMatchObject({ version: 2, features: ['index-tables'] });
    expect(original.mac).toMatch(/^[0-9a-f]{64}$/);
    // The chunker turned into 64-byte FastCDC chunks (a backup would store a blob per 64 bytes).
    const edits: Array<Record<string, unknown>> = [
      { ...original, chunker: { kind: 'fastcdc', min: 64, avg: 64, max: 64 } },
      { ...original, packSize: 1 << 30 },
      { ...original, created: '2020-01-01T00:00:00.000Z' },
      // Without the feature, a reader would not read the index tables (and miss what they list).
      { ...original, features: [] },
    ];
    for (const edited of edits) {
      await kind.overwrite(url, 'config', Buffer.from(JSON.stringify(edited)));
      await expect(open(url)).rejects.toThrow(/config is damaged: its authentication code does not match its contents/);
    }
    // The same config in another key order is the same config.
    const reordered = Object.fromEntries(Object.entries(original).reverse());
    await kind.overwrite(url, 'config', Buffer.from(JSON.stringify(reordered)));
    await expect(open(url)).resolves.toBeDefined();
    // A version 1 config has no MAC to check: offered one, the version 2 keys say it was replaced.
    const v1: Record<string, unknown> = { ...original, version: 1, chunker: { kind: 'fastcdc', min: 64, avg: 64, max: 64 } };
    delete v1.features;
    delete v1.mac;
    await kind.overwrite(url, 'config', Buffer.from(JSON.stringify(v1)));
    await expect(open(url)).rejects.toThrow(/declares format version 1 but key file keys\/[0-9a-f]{12}… belongs to a version 2 store: the config was replaced/);
    // An unknown feature is refused before any key is tried.
    await kind.overwrite(url, 'config', Buffer.from(JSON.stringify({ ...original, features: ['sharded-index-v9'] })));
    await expect(open(url)).rejects.toThrow(/uses features this scw-backup does not know \(sharded-index-v9\)/);
  });

  it('a planted or damaged key file is skipped with a warning naming it; the real keys still open the store', async () => {
    const url = kind.make();
    await initRepository(url, PASS, { ...TEST_INIT, location });
    const backend = await backendOf(url);
    const [real] = await paths(backend, 'keys');
    const realKey = JSON.parse(Buffer.from(await backend.get(real)).toString()) as { kdf: Record<string, unknown> };
    const plant = async (bytes: Buffer, name = createHash('sha256').update(bytes).digest('hex')): Promise<string> => {
      await kind.overwrite(url, `keys/${name}`, bytes);
      return `keys/${name}`;
    };
    // 3 GiB of Argon2id memory: it would crash every open (today it is never computed).
    const greedy = await plant(Buffer.from(JSON.stringify({ ...realKey, kdf: { ...realKey.kdf, memoryKiB: 3 * 1024 * 1024 } })));
    const slow = await plant(Buffer.from(JSON.stringify({ ...realKey, kdf: { ...realKey.kdf, memoryKiB: 1024 * 1024, time: 64 } })));
    const garbage = await plant(Buffer.from('not json at all'));
    const renamed = await plant(Buffer.from(await backend.get(real)), 'ab'.repeat(32));
    const warnings: string[] = [];
    const repo = await open(url, { onWarning: (m) => warnings.push(m) });
    expect(repo.keyId).toBe(real.slice('keys/'.length));
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`key file ${greedy} was skipped: its kdf memory must be an integer between 8 KiB and 1 GiB, got 3145728 KiB`)),
      expect.stringMatching(new RegExp(`key file ${slow} was skipped: its kdf time 64 passes over 1048576 KiB is more work than the 4 GiB-passes allowed`)),
      expect.stringMatching(new RegExp(`key file ${garbage} was skipped: it is not JSON`)),
      expect.stringMatching(new RegExp(`key file ${renamed} was skipped: its contents do not match its name`)),
    ]));
    expect((await repo.listKeys()).map((k) => `keys/${k.id}`)).toEqual([real]);
    await expect(open(url, {}, 'wrong passphrase')).rejects.toBeInstanceOf(WrongPassphraseError);
  });

  it('a version 1 store (written by the previous release) opens, restores, takes backups, and copies into version 2', async () => {
    const url = kind.make();
    const fixture = join(__dirname, '..', '..', 'fixtures', 'store-v1');
    if (kind.name === 'folder') await cp(fixture, url, { recursive: true });
    else for (const f of await readdir(fixture, { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const full = join(f.parentPath, f.name);
      await kind.overwrite(url, full.slice(fixture.length + 1), await readFile(full));
    }
    const v1 = await openRepository(url, V1_PASS, { location });
    expect(v1.config.version).toBe(1);
    const [listed] = (await listSnapshots(v1)).snapshots;
    expect(listed.id).toBe(V1_SNAPSHOT);
    const snap = await loadSnapshot(v1, listed.id);
    const out = join(dir.path, `v1-${kind.name}.out`);
    await restoreImage(v1, snap, out);
    expect((await readFile(out)).equals(v1Image())).toBe(true);
    // Still writable, in its own version's scheme; check reads it all.
    const more = await backup(v1, `v1-more-${kind.name}.img`, makeImage(256 * 1024, 9));
    const check = await checkRepository(await openRepository(url, V1_PASS, { location }), { readData: true });
    expect(check.errors).toEqual([]);
    expect(check.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/format version 1: .* copy it into a new store/)]);
    // The way to version 2: copy into a new store.
    const v2url = kind.make();
    const v2 = await initRepository(v2url, PASS, { ...TEST_INIT, location });
    expect(v2.config.version).toBe(2);
    const copied = await copySnapshots(await openRepository(url, V1_PASS, { location }), v2);
    expect(copied.copied).toHaveLength(2);
    const again = join(dir.path, `v2-${kind.name}.out`);
    const v2reopened = await open(v2url);
    await restoreImage(v2reopened, (await listSnapshots(v2reopened)).snapshots.find((s) => s.time === snap.time) as Snapshot, again);
    expect((await readFile(again)).equals(v1Image())).toBe(true);
    expect(more.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('locks are judged by the store\'s clock: a holder\'s clock hours off neither hides nor frees its lock', async () => {
    const url = kind.make();
    const repo = await initRepository(url, PASS, { ...TEST_INIT, location });
    const lockOf = async (body: Record<string, unknown>): Promise<string> => {
      const path = `locks/${randomBytes(32).toString('hex')}`;
      await repo.backend.put(path, repo.keys.sealer.seal(AAD.lock, [Buffer.from(JSON.stringify({ hostname: 'elsewhere', username: 'ops', pid: 7, exclusive: false, ...body }))]));
      return path;
    };
    // A backup on a host whose clock is 2 hours behind: its lock says 2 h old, yet was written just now.
    const behind = await lockOf({ time: new Date(Date.now() - 2 * 3600_000).toISOString() });
    await expect(pruneRepository(await open(url), { graceMs: 0 })).rejects.toBeInstanceOf(RepositoryLockedError);
    // One whose clock is 2 hours ahead, but whose object the store last saw 31 minutes ago: stale.
    const backend = await backendOf(url);
    await backend.delete(behind);
    const ahead = await lockOf({ time: new Date(Date.now() + 2 * 3600_000).toISOString() });
    await kind.age(url, ahead, new Date(Date.now() - 31 * 60_000));
    const pruned = await pruneRepository(await open(url), { graceMs: 0 });
    expect(pruned.warnings.join('\n')).toMatch(/ignored stale a non-exclusive lock held by ops@elsewhere, pid 7/);
    // unlock removes it by the same measure, and keeps a fresh one whatever its time says.
    const fresh = await lockOf({ time: new Date(Date.now() - 5 * 3600_000).toISOString() });
    const unlocked = await removeLocks(await open(url));
    expect(unlocked.removed.map((l) => l.path)).toEqual([ahead]);
    expect(unlocked.kept.map((l) => l.path)).toEqual([fresh]);
  });

  it('prune removes temporary files that interrupted writes left, once older than the grace period', async () => {
    if (kind.name !== 'folder') return; // an S3 store writes no temporary objects
    const url = kind.make();
    await initRepository(url, PASS, { ...TEST_INIT, location });
    const backend = await backendOf(url);
    await writeFile(join(url, '.tmp', 'old-leftover'), prng(5)(1000));
    await writeFile(join(url, '.tmp', 'young-leftover'), prng(6)(1000));
    await kind.age(url, '.tmp/old-leftover', new Date(Date.now() - 2 * 3600_000));
    const dry = await pruneRepository(await open(url), { dryRun: true });
    expect(dry.leftovers).toBe(1);
    expect(await paths(backend, '.tmp')).toHaveLength(2);
    const r = await pruneRepository(await open(url));
    expect(r.leftovers).toBe(1);
    expect(await paths(backend, '.tmp')).toEqual(['.tmp/young-leftover']);
  });
});

// The fixture test/fixtures/store-v1 was written by scw-backup at 73e8ffd (format version 1) from
// this image: 64 KiB of text, 64 KiB of pseudo-random bytes, a 64 KiB hole, 32 KiB more random.
const V1_PASS = 'format v1 fixture passphrase';
const V1_SNAPSHOT = '3ee2cba9c7c069fba1ee86470de5d2b717ed973481baf66ba7e88703d778a66f';
function v1Image(): Buffer {
  const K = 64 * 1024;
  const text = Buffer.alloc(K);
  const line = Buffer.from('a store written by scw-backup format version 1\n');
  for (let i = 0; i < K; i++) text[i] = line[i % line.length];
  return Buffer.concat([text, prng(4242)(K), Buffer.alloc(K), prng(4343)(K / 2)]);
}
