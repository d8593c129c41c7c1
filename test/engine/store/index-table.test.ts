/**
 * Index tables (FORMAT.md §7.1) and the snapshot catalog (§8.2): written by prune and compact, read
 * whole when small and block by block when large, checked on every read; on a folder store and on
 * the local S3 server.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DamagedObjectError, RawFileSource, backupImage, checkRepository, compactIndex, findSnapshot, forgetSnapshots, initRepository, listSnapshots,
  openBackend, openRepository, pruneRepository, restoreImage, type Backend, type LocationOptions, type Repository,
} from '../../../engine';
import { BLOB_DATA, type BlobEntry } from '../../../engine/store/blob';
import { ENTRIES_PER_BLOCK, shardOf } from '../../../engine/store/index-table/format';
import { TableReader } from '../../../engine/store/index-table/table-reader';
import { TableBuilder } from '../../../engine/store/index-table/table-writer';
import { writeCatalog } from '../../../engine/store/catalog';
import { rewriteCatalog } from '../../../engine/store/snapshots';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { HookedBackend } from '../retention/helpers';
import { PASS, TEST_INIT, makeImage, prng, tempDir, writeImage } from '../../helpers';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('tables');
  dir = await tempDir('scwb-tables-');
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

const kinds = [
  { name: 'folder', make: () => join(dir.path, randomBytes(4).toString('hex')) },
  { name: 's3', make: () => `s3://tables/${randomBytes(4).toString('hex')}` },
];

async function paths(backend: Backend, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list(prefix)) out.push(o.path);
  return out.sort();
}

async function backup(repo: Repository, name: string, data: Buffer) {
  const src = await RawFileSource.open(await writeImage(dir.path, name, data));
  try {
    return await backupImage(repo, src, { workers: 0, hostname: 'h' });
  } finally {
    await src.close();
  }
}

describe('a table on its own', () => {
  it('finds every entry it holds, and none it does not, across shards and blocks; reads whole; refuses tampering', async () => {
    const repo = await initRepository(join(dir.path, 'alone'), PASS, TEST_INIT);
    const builder = new TableBuilder();
    const rnd = prng(5);
    const entries: Array<{ pack: string; blob: BlobEntry }> = [];
    for (let i = 0; i < 3000; i++) {
      const blob: BlobEntry = { type: BLOB_DATA, id: rnd(32), offset: i * 100, length: 90 + (i % 7), rawLength: 1000 + i };
      const pack = (i % 37).toString(16).padStart(64, '0');
      entries.push({ pack, blob });
      builder.add(pack, blob);
    }
    // A blob stored twice (two writers): both entries are kept.
    builder.add('ff'.repeat(32), { ...entries[7].blob, offset: 5 });
    const { path, objects } = await builder.write(repo, { shardBits: 3 });
    const table = await TableReader.open(repo, path);
    expect(table.entries).toBe(3001);
    expect(table.manifest.shards).toHaveLength(8);
    for (const s of table.manifest.shards) expect(s.firstIds.length).toBe(Math.ceil(s.entries / ENTRIES_PER_BLOCK) * 8);
    expect(Math.min(...table.manifest.shards.map((s) => s.entries))).toBeGreaterThan(2 * ENTRIES_PER_BLOCK);
    const hits = await table.find(entries.map((e) => e.blob.id));
    for (const [i, hit] of hits.entries()) {
      expect(hit?.blob.rawLength).toBe(entries[i].blob.rawLength);
      if (i !== 7) expect(hit?.pack).toBe(entries[i].pack);
    }
    const absent = await table.find([rnd(32), rnd(32), Buffer.alloc(32), Buffer.alloc(32, 0xff)]);
    expect(absent).toEqual([undefined, undefined, undefined, undefined]);
    let seen = 0;
    await table.readAll(() => seen++);
    expect(seen).toBe(3001);

    // A byte changed in a shard: the block holding it fails, by name; reading whole fails on the name.
    const [victim] = entries.filter((e) => shardOf(e.blob.id, 3) === 2).sort((a, b) => Buffer.compare(a.blob.id, b.blob.id)); // in block 0
    const shardPath = `index-shards/${table.manifest.shards[2].object}`;
    const bytes = Buffer.from(await repo.backend.get(shardPath));
    const fresh = await TableReader.open(repo, path);
    await writeFile(join(dir.path, 'alone', ...shardPath.split('/')), Buffer.from(bytes.map((b, i) => (i === 100 ? b ^ 1 : b))));
    await expect(fresh.find([victim.blob.id])).rejects.toThrow(/index-tables\/[0-9a-f]{64} \(shard 2, block 0\) is damaged: authentication failed/);
    await expect(fresh.readAll(() => undefined)).rejects.toThrow(DamagedObjectError);
    expect(objects).toContain(shardPath);
  });
});

describe.each(kinds)('in a $name store', ({ make }) => {
  it('prune and compact merge the index into one table; backups dedup against it and restores read it, whole or block by block', async () => {
    const url = make();
    let repo = await initRepository(url, PASS, { ...TEST_INIT, packSize: 1 << 20, location });
    const images = [1, 2, 3].map((n) => makeImage(3 << 20, 40 + n));
    const snaps = [];
    for (const [i, img] of images.entries()) snaps.push(await backup(await openRepository(url, PASS, { location }), `t${i}.img`, img));
    const backend = await openBackend(url, location);
    expect((await paths(backend, 'index')).length).toBeGreaterThanOrEqual(3);

    const compacted = await compactIndex(await openRepository(url, PASS, { location }));
    expect(compacted).toMatchObject({ written: 1, notDeleted: [] });
    expect(await paths(backend, 'index')).toEqual([]);
    expect(await paths(backend, 'index-tables')).toHaveLength(1);
    expect(await paths(backend, 'catalog')).toHaveLength(1);

    // Read whole (small), and left in the store (as a large one would be): the same answers.
    for (const wholeTableEntries of [undefined, 0]) {
      repo = await openRepository(url, PASS, { location, wholeTableEntries });
      const again = await backup(repo, `again-${wholeTableEntries}.img`, images[1]);
      expect(again.stats.bytesNew).toBe(0);
      const target = join(dir.path, `from-table-${randomBytes(3).toString("hex")}.img`);
      const r = await openRepository(url, PASS, { location, wholeTableEntries });
      await restoreImage(r, await findSnapshot(r, snaps[2].id), target, { workers: 0 });
      expect((await readFile(target)).equals(images[2])).toBe(true);
    }
    // A new backup adds an index file beside the table; prune merges them again, and check reads all.
    await backup(await openRepository(url, PASS, { location }), 'new.img', makeImage(2 << 20, 77));
    expect((await paths(backend, 'index')).length).toBeGreaterThan(0);
    await forgetSnapshots(await openRepository(url, PASS, { location }), { policy: { last: 2 }, groupBy: [] });
    const pruned = await pruneRepository(await openRepository(url, PASS, { location }), { graceMs: 0 });
    expect(pruned.notDeleted).toEqual([]);
    expect(await paths(backend, 'index')).toEqual([]);
    expect(await paths(backend, 'index-tables')).toHaveLength(1);
    const check = await checkRepository(await openRepository(url, PASS, { location }), { readData: true });
    expect(check.errors).toEqual([]);
    expect(check.warnings).toEqual([]);
  });

  it('the catalog answers listings without a manifest or a listing of snapshots/; forget, prune and compact merge it; a damaged or missing catalog falls back to the files', async () => {
    const url = make();
    await initRepository(url, PASS, { ...TEST_INIT, location });
    for (let i = 0; i < 12; i++) await backup(await openRepository(url, PASS, { location }), `c${i}.img`, prng(200 + i)(128 * 1024));
    const backend = await openBackend(url, location);
    // Every backup recorded its summary in a catalog object of its own.
    expect(await paths(backend, 'catalog')).toHaveLength(12);
    await compactIndex(await openRepository(url, PASS, { location }));
    expect(await paths(backend, 'catalog')).toHaveLength(1);
    const after = await backup(await openRepository(url, PASS, { location }), 'after.img', prng(300)(128 * 1024));
    const hooked = new HookedBackend(await openBackend(url, location));
    const touched: string[] = [];
    hooked.beforeGet = (p) => {
      if (p.startsWith('snapshots/')) touched.push(p);
    };
    hooked.beforeList = (p) => {
      if (p.startsWith('snapshots')) touched.push(`list ${p}`);
    };
    const listing = await listSnapshots(await openRepository(hooked, PASS));
    expect(listing.snapshots).toHaveLength(13);
    expect(listing.snapshots[12].id).toBe(after.id);
    expect(touched).toEqual([]);
    // Summaries: no disk maps in a listing (they grow with the disk); the snapshot found has its map,
    // read from its own file.
    expect(listing.snapshots.every((x) => !('map' in x))).toBe(true);
    const found = await findSnapshot(await openRepository(hooked, PASS), 'latest', { sources: [listing.snapshots[3].source.location] });
    expect(found.id).toBe(listing.snapshots[3].id);
    expect(found.map.length).toBeGreaterThan(0);
    expect(touched).toEqual([`snapshots/${found.id}`]);
    touched.length = 0;
    expect((await findSnapshot(await openRepository(hooked, PASS), after.id)).id).toBe(after.id);
    expect(touched).toEqual([`snapshots/${after.id}`]);

    // A catalog that says something else than a manifest's file (written wrong) is found out by
    // the file `latest` reads, and the files decide.
    const liar = await openRepository(url, PASS, { location });
    const wrong = listing.snapshots.map((x) => (x.id === listing.snapshots[0].id ? { ...x, time: '2099-01-01T00:00:00.000Z' } : x));
    await writeCatalog(liar, wrong, await paths(backend, 'catalog'));
    expect((await findSnapshot(await openRepository(url, PASS, { location }), 'latest')).id).toBe(after.id);
    // forget carries the catalog over; check tells; compact rebuilds it from the files.
    await rewriteCatalog(liar);
    expect((await listSnapshots(liar)).snapshots.map((x) => x.time)).toContain('2099-01-01T00:00:00.000Z');
    const checked = await checkRepository(liar);
    expect(checked.ok).toBe(true);
    expect(checked.warnings.map((w) => w.message).join('\n')).toContain(`the catalog's summary of snapshots/${listing.snapshots[0].id} differs from the manifest`);
    await compactIndex(liar);
    expect((await listSnapshots(liar)).snapshots).toEqual(listing.snapshots);
    expect(await paths(backend, 'catalog')).toHaveLength(1);

    // forget takes snapshots out of the catalog, then deletes their files.
    const forgot = await forgetSnapshots(liar, { policy: { last: 10 }, groupBy: [] });
    expect(forgot.removed).toHaveLength(3);
    expect(await paths(backend, 'catalog')).toHaveLength(1);
    const kept = (await listSnapshots(liar)).snapshots;
    expect(kept.map((x) => x.id)).toEqual(listing.snapshots.slice(3).map((x) => x.id));
    expect((await paths(backend, 'snapshots')).length).toBe(10);

    // A file removed behind the catalog's back: listings still show it (the catalog answers), the
    // snapshot cannot be used, check tells, compact mends.
    await backend.delete(`snapshots/${kept[0].id}`);
    expect((await listSnapshots(liar)).snapshots).toHaveLength(10);
    await expect(findSnapshot(liar, kept[0].id)).rejects.toThrow();
    expect((await checkRepository(liar)).warnings.map((w) => w.message).join('\n')).toContain(`the catalog lists snapshots/${kept[0].id}, which does not exist`);
    await compactIndex(liar);
    expect((await listSnapshots(liar)).snapshots.map((x) => x.id)).toEqual(kept.slice(1).map((x) => x.id));

    // A damaged catalog object: what it held is unknown, so the files answer (and check tells).
    const [catalog] = await paths(backend, 'catalog');
    await backend.delete(catalog);
    await backend.put(catalog.replace(/[0-9a-f]{64}$/, 'ab'.repeat(32)), Buffer.from('not a catalog'));
    const rebuilt = await listSnapshots(await openRepository(url, PASS, { location }));
    expect(rebuilt.snapshots.map((x) => x.id)).toEqual(kept.slice(1).map((x) => x.id));
    expect(rebuilt.damaged).toEqual([]);
    expect((await checkRepository(await openRepository(url, PASS, { location }))).warnings.map((w) => w.message).join('\n'))
      .toContain('catalog/abababab');
    // No catalog at all (removed by hand): the files answer; compact writes one again.
    await backend.delete(catalog.replace(/[0-9a-f]{64}$/, 'ab'.repeat(32)));
    expect((await listSnapshots(liar)).snapshots.map((x) => x.id)).toEqual(kept.slice(1).map((x) => x.id));
    await compactIndex(liar);
    expect(await paths(backend, 'catalog')).toHaveLength(1);
    expect((await listSnapshots(liar)).snapshots.map((x) => x.id)).toEqual(kept.slice(1).map((x) => x.id));
  });
});
