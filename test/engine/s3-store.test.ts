import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  RawFileSource, backupImage, checkRepository, findSnapshot, initRepository, listSnapshots, openRepository, restoreImage,
  type LocationOptions,
} from '../../engine';
import { startFaultProxy } from '../rig/fault-proxy';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { WEAK_KDF, runCli } from '../cli/spawn-cli';
import { PASS, TEST_INIT, makeImage, tempDir, writeImage } from '../helpers';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('store');
  dir = await tempDir();
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
});
/** The scw CLI's variables, pointing at the local S3 server (or a proxy in front of it). */
const s3Env = (endpoint: string) => ({
  SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: endpoint, SCW_DEFAULT_REGION: s3.region,
});

afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

it('backs up into a bucket, dedups, restores byte for byte and checks clean', async () => {
  const url = 's3://store/team-a/prod';
  const img = makeImage(5 << 20, 21);
  const path = await writeImage(dir.path, 'disk.img', img);
  const repo = await initRepository(url, PASS, { ...TEST_INIT, packSize: 1 << 20, location });
  const src = await RawFileSource.open(path);
  const first = await backupImage(repo, src);
  const second = await backupImage(await openRepository(url, PASS, { location }), src);
  await src.close();
  expect(second.stats.bytesNew).toBe(0);

  const reopened = await openRepository(url, PASS, { location });
  expect((await listSnapshots(reopened)).snapshots.map((s) => s.id).sort()).toEqual([first.id, second.id].sort());
  const target = join(dir.path, 'restored.img');
  await restoreImage(reopened, await findSnapshot(reopened, 'latest'), target);
  expect((await readFile(target)).equals(img)).toBe(true);
  const check = await checkRepository(reopened, { readData: true });
  expect(check.errors).toEqual([]);
  expect(check.packsRead).toBeGreaterThan(1);
});

it('works from the CLI with an s3:// repository and the scw CLI credentials variables', async () => {
  const env = { SCW_BACKUP_PASSWORD: 'pw-passphrase', ...s3Env(s3.endpoint) };
  const repo = 's3://store/cli';
  const img = await writeImage(dir.path, 'cli.img', makeImage(2 << 20, 22));
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
  expect((await runCli(['backup', '--repo', repo, img], env)).code).toBe(0);
  const out = join(dir.path, 'cli.out');
  expect((await runCli(['restore', '--repo', repo, 'latest', '--target', out], env)).code).toBe(0);
  expect((await readFile(out)).equals(await readFile(img))).toBe(true);
  const missing = await runCli(['snapshots', '--repo', 's3://no-such-bucket/x'], env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/no-such-bucket/);
  expect(missing.stderr).not.toMatch(/\n\s+at /);
});

it('puts Object Lock retention on what a command writes when asked with --retain-until', async () => {
  const proxy = await startFaultProxy(s3.endpoint);
  try {
    const env = { SCW_BACKUP_PASSWORD: 'pw-passphrase', ...s3Env(proxy.endpoint) };
    const repo = 's3://store/locked';
    expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
    proxy.reset();
    const img = await writeImage(dir.path, 'locked.img', makeImage(1 << 20, 23));
    expect((await runCli(['backup', '--repo', repo, '--retain-until', '2099-01-01', img], env)).code).toBe(0);
    const puts = proxy.requests.filter((r) => r.method === 'PUT' && /\/(packs|index|snapshots)\//.test(r.url));
    expect(puts.length).toBeGreaterThanOrEqual(3);
    for (const p of puts) {
      expect(p.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
      expect(String(p.headers['x-amz-object-lock-retain-until-date'])).toMatch(/^2099-01-01/);
    }
    const past = await runCli(['backup', '--repo', repo, '--retain-until', '2001-01-01', img], env);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/--retain-until.*in the past/);
  } finally {
    await proxy.stop();
  }
});
