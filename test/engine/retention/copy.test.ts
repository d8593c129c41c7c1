import { join } from 'node:path';
import {
  IncompatibleStoresError, WrongPassphraseError, copySnapshots, initRepository, listSnapshots, loadSnapshot, openRepository, snapshotIdentity,
  type LocationOptions, type Repository,
} from '../../../engine';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';
import { backupBytes, expectCheckClean, expectRestores, listPaths } from './helpers';

const CHUNK = 64 * 1024;
const OTHER_PASS = 'a different passphrase for the copy';
let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('primary');
  await s3.createBucket('offsite');
  dir = await tempDir('scwb-copy-');
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

const open = (url: string, pass = PASS): Promise<Repository> => openRepository(url, pass, { location });

it('copies to a store with another passphrase and key, restores from it, and copies only what is new', async () => {
  const a = await initRepository('s3://primary/a', PASS, { ...TEST_INIT, packSize: 1 << 20, location });
  await initRepository('s3://offsite/b', OTHER_PASS, { ...TEST_INIT, packSize: 1 << 20, location });
  const v1 = prng(41)(48 * CHUNK);
  const v2 = Buffer.from(v1);
  prng(42)(3 * CHUNK).copy(v2, 10 * CHUNK); // three chunks change
  const s1 = await backupBytes(a, dir.path, 'disk.img', v1);
  const s2 = await backupBytes(await open('s3://primary/a'), dir.path, 'disk.img', v2);

  const first = await copySnapshots(await open('s3://primary/a'), await open('s3://offsite/b', OTHER_PASS));
  expect(first.copied.map((c) => c.source)).toEqual([s1.id, s2.id]);
  expect(first.copied[0]).toMatchObject({ chunks: 48, chunksRead: 48, chunksReused: 0, bytesNew: 48 * CHUNK });
  // The second snapshot of the same disk: its unchanged chunks come from the first copy, unread.
  expect(first.copied[1]).toMatchObject({ chunks: 48, chunksReused: 45, chunksRead: 3, bytesNew: 3 * CHUNK });

  const b = await open('s3://offsite/b', OTHER_PASS);
  await expect(open('s3://offsite/b', PASS)).rejects.toBeInstanceOf(WrongPassphraseError);
  const inB = (await listSnapshots(b)).snapshots;
  expect(inB.map(snapshotIdentity)).toEqual([s1, s2].map(snapshotIdentity));
  expect((await loadSnapshot(b, inB[0].id)).map[0].id).not.toBe(s1.map[0].id); // ids are keyed per store
  await expectRestores(b, first.copied[0].target, v1, dir.path);
  await expectRestores(b, first.copied[1].target, v2, dir.path);
  await expectCheckClean(await open('s3://offsite/b', OTHER_PASS), { warnings: false });

  // Nothing new: nothing copied, nothing written.
  const objects = await listPaths(b.backend, '');
  const again = await copySnapshots(await open('s3://primary/a'), await open('s3://offsite/b', OTHER_PASS));
  expect(again.copied).toEqual([]);
  expect(again.alreadyThere.map((x) => x.source)).toEqual([s1.id, s2.id]);
  expect(await listPaths(b.backend, '')).toEqual(objects);

  // A third backup: only it is copied, reading only its changed chunk.
  const v3 = Buffer.from(v2);
  prng(43)(CHUNK).copy(v3, 40 * CHUNK);
  const s3snap = await backupBytes(await open('s3://primary/a'), dir.path, 'disk.img', v3);
  const third = await copySnapshots(await open('s3://primary/a'), await open('s3://offsite/b', OTHER_PASS));
  expect(third.copied.map((c) => c.source)).toEqual([s3snap.id]);
  expect(third.copied[0]).toMatchObject({ chunksRead: 1, chunksReused: 47 });
  await expectRestores(await open('s3://offsite/b', OTHER_PASS), third.copied[0].target, v3, dir.path);
});

it('copies only the snapshots asked for, and checks clean afterwards', async () => {
  const a = await initRepository('s3://primary/pick', PASS, { ...TEST_INIT, packSize: 1 << 20, location });
  await initRepository(join(dir.path, 'local-copy'), OTHER_PASS, { ...TEST_INIT, packSize: 1 << 20 });
  const x = await backupBytes(a, dir.path, 'x.img', prng(44)(8 * CHUNK), 'host-x');
  const yImg = prng(45)(8 * CHUNK);
  const y = await backupBytes(await open('s3://primary/pick'), dir.path, 'y.img', yImg, 'host-y');
  const local = await openRepository(join(dir.path, 'local-copy'), OTHER_PASS);
  const r = await copySnapshots(await open('s3://primary/pick'), local, { snapshots: ['latest'] });
  expect(r.copied.map((c) => c.source)).toEqual([y.id]);
  expect(x.id).not.toBe(y.id);
  await expectCheckClean(await openRepository(join(dir.path, 'local-copy'), OTHER_PASS), { warnings: false });
  await expectRestores(local, r.copied[0].target, yImg, dir.path);
});

it('refuses stores that cut disks differently, and copying a store onto itself', async () => {
  const a = await initRepository('s3://primary/fixed', PASS, { ...TEST_INIT, location });
  const cdc = await initRepository('s3://offsite/cdc', PASS, { ...TEST_INIT, location, chunker: { kind: 'fastcdc', min: 16384, avg: 65536, max: 262144 } });
  await expect(copySnapshots(a, cdc)).rejects.toBeInstanceOf(IncompatibleStoresError);
  await expect(copySnapshots(a, cdc)).rejects.toThrow(/s3:\/\/primary\/fixed.*s3:\/\/offsite\/cdc.*--chunker/);
  await expect(copySnapshots(a, await open('s3://primary/fixed'))).rejects.toThrow(/same repository/);
});
