/**
 * A store on an Object Lock bucket: the store refuses deletes of objects under retention
 * (403 AccessDenied to DeleteObject, made here by the fault proxy). Prune and forget report what
 * they could not delete and lose nothing; a later prune, once deletes work, finishes the job.
 */
import {
  checkRepository, forgetSnapshots, initRepository, openRepository, pruneRepository, removeSnapshots, type LocationOptions, type Repository,
} from '../../../engine';
import { startFaultProxy, s3Error, type FaultProxy } from '../../rig/fault-proxy';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';
import { backupBytes, expectRestores, listPaths } from './helpers';

const CHUNK = 64 * 1024;
let s3: S3TestServer;
let proxy: FaultProxy;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('locked');
  proxy = await startFaultProxy(s3.endpoint);
  dir = await tempDir('scwb-objlock-');
  location = { s3: { endpoint: proxy.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, retry: { baseDelayMs: 1, maxDelayMs: 5 } } };
});
afterAll(async () => {
  await proxy.stop();
  await s3.stop();
  await dir.cleanup();
});
afterEach(() => proxy.reset());

const open = (url: string): Promise<Repository> => openRepository(url, PASS, { location });
const denyDeletes = (url: RegExp) => proxy.failNext(10_000, s3Error(403, 'AccessDenied', 'Access Denied'), { method: 'DELETE', url });

async function storeWithForgottenSnapshot(url: string): Promise<{ keptId: string; keptImg: Buffer; goneId: string }> {
  const repo = await initRepository(url, PASS, { ...TEST_INIT, packSize: 1 << 20, location });
  const goneImg = prng(51)(32 * CHUNK);
  const keptImg = Buffer.from(goneImg);
  prng(52)(24 * CHUNK).copy(keptImg, 8 * CHUNK);
  const gone = await backupBytes(repo, dir.path, 'gone.img', goneImg);
  const kept = await backupBytes(await open(url), dir.path, 'kept.img', keptImg);
  return { keptId: kept.id, keptImg, goneId: gone.id };
}

async function expectValid(url: string, keptId: string, keptImg: Buffer): Promise<void> {
  const check = await checkRepository(await open(url), { readData: true });
  expect(check.errors).toEqual([]);
  await expectRestores(await open(url), keptId, keptImg, dir.path);
}

it('pack deletes refused: prune reports them, the store stays valid, a later prune removes them', async () => {
  const url = 's3://locked/packs-denied';
  const { keptId, keptImg, goneId } = await storeWithForgottenSnapshot(url);
  await removeSnapshots(await open(url), [goneId]);
  denyDeletes(/\/packs\//);
  const r = await pruneRepository(await open(url), { graceMs: 0 });
  expect(r.notDeleted.length).toBeGreaterThan(0);
  expect(r.notDeleted[0].object).toMatch(/^packs\//);
  expect(r.notDeleted[0].message).toMatch(/cannot delete packs\/.*Object Lock/);
  expect(r.warnings.join('\n')).toMatch(/could not be deleted.*nothing was lost/);
  // The refused packs are now unindexed (the new index no longer lists them): warnings, not errors.
  await expectValid(url, keptId, keptImg);

  proxy.reset();
  const later = await pruneRepository(await open(url), { graceMs: 0 });
  expect(later.packs.unindexedRemoved).toBe(r.notDeleted.length);
  expect(later.notDeleted).toEqual([]);
  const check = await checkRepository(await open(url), { readData: true });
  expect(check).toMatchObject({ errors: [], warnings: [] });
});

it('index deletes refused: the packs those files list are kept, so no index points at a missing pack', async () => {
  const url = 's3://locked/index-denied';
  const { keptId, keptImg, goneId } = await storeWithForgottenSnapshot(url);
  await removeSnapshots(await open(url), [goneId]);
  const packsBefore = await listPaths((await open(url)).backend, 'packs');
  denyDeletes(/\/index\//);
  const r = await pruneRepository(await open(url), { graceMs: 0 });
  expect(r.notDeleted.every((n) => n.object.startsWith('index/'))).toBe(true);
  expect(r.notDeleted).toHaveLength(r.indexFiles.read);
  // Every old pack is still listed by an old index file: none was deleted.
  expect(await listPaths((await open(url)).backend, 'packs')).toEqual(expect.arrayContaining(packsBefore));
  await expectValid(url, keptId, keptImg);

  proxy.reset();
  await pruneRepository(await open(url), { graceMs: 0 });
  const check = await checkRepository(await open(url), { readData: true });
  expect(check).toMatchObject({ errors: [], warnings: [] });
  await expectRestores(await open(url), keptId, keptImg, dir.path);
});

it('forget reports snapshots it could not remove and keeps going', async () => {
  const url = 's3://locked/forget-denied';
  const { keptId } = await storeWithForgottenSnapshot(url);
  denyDeletes(/\/snapshots\//);
  const r = await forgetSnapshots(await open(url), { policy: { last: 1 }, groupBy: [] });
  expect(r.removed).toEqual([]);
  expect(r.notRemoved).toHaveLength(1);
  expect(r.notRemoved[0].message).toMatch(/cannot delete snapshots\//);
  expect(r.groups[0].keep.map((k) => k.id)).toEqual([keptId]);
});
