import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  RawFileSource, backupImage, checkRepository, findSnapshot, initRepository, listSnapshots, openRepository, restoreImage,
  type LocationOptions,
} from '../../engine';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
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
  expect((await listSnapshots(reopened)).map((s) => s.id).sort()).toEqual([first.id, second.id].sort());
  const target = join(dir.path, 'restored.img');
  await restoreImage(reopened, await findSnapshot(reopened, 'latest'), target);
  expect((await readFile(target)).equals(img)).toBe(true);
  const check = await checkRepository(reopened, { readData: true });
  expect(check.errors).toEqual([]);
  expect(check.packsRead).toBeGreaterThan(1);
});

it('works from the CLI with an s3:// repository and the scw CLI credentials variables', async () => {
  const cli = resolve(__dirname, '../../bin/scw-backup.js');
  const env = {
    ...process.env, SCW_BACKUP_PASSWORD: 'pw', SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey,
    SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region,
  };
  // Asynchronous on purpose: the S3 server runs in this process and must keep answering.
  const run = (...args: string[]) => new Promise<{ status: number | null; stderr: string }>((res) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => res({ status, stderr }));
  });
  const repo = 's3://store/cli';
  const img = await writeImage(dir.path, 'cli.img', makeImage(2 << 20, 22));
  expect((await run('init', '--repo', repo, '--kdf-memory-kib', '64', '--allow-weak-kdf')).status).toBe(0);
  expect((await run('backup', '--repo', repo, img)).status).toBe(0);
  const out = join(dir.path, 'cli.out');
  expect((await run('restore', '--repo', repo, 'latest', '--target', out)).status).toBe(0);
  expect((await readFile(out)).equals(await readFile(img))).toBe(true);
  const missing = await run('snapshots', '--repo', 's3://no-such-bucket/x');
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/no-such-bucket/);
  expect(missing.stderr).not.toMatch(/\n\s+at /);
});

it('puts Object Lock retention on what a command writes when asked with --retain-until', async () => {
  const { startFaultProxy } = await import('../rig/fault-proxy');
  const proxy = await startFaultProxy(s3.endpoint);
  try {
    const cli = resolve(__dirname, '../../bin/scw-backup.js');
    const env = {
      ...process.env, SCW_BACKUP_PASSWORD: 'pw', SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey,
      SCW_BACKUP_S3_ENDPOINT: proxy.endpoint, SCW_DEFAULT_REGION: s3.region,
    };
    const run = (...args: string[]) => new Promise<{ status: number | null; stderr: string }>((res) => {
      const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (status) => res({ status, stderr }));
    });
    const repo = 's3://store/locked';
    expect((await run('init', '--repo', repo, '--kdf-memory-kib', '64', '--allow-weak-kdf')).status).toBe(0);
    proxy.reset();
    const img = await writeImage(dir.path, 'locked.img', makeImage(1 << 20, 23));
    expect((await run('backup', '--repo', repo, '--retain-until', '2099-01-01', img)).status).toBe(0);
    const puts = proxy.requests.filter((r) => r.method === 'PUT' && /\/(packs|index|snapshots)\//.test(r.url));
    expect(puts.length).toBeGreaterThanOrEqual(3);
    for (const p of puts) {
      expect(p.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
      expect(String(p.headers['x-amz-object-lock-retain-until-date'])).toMatch(/^2099-01-01/);
    }
    const past = await run('backup', '--repo', repo, '--retain-until', '2001-01-01', img);
    expect(past.status).toBe(2);
    expect(past.stderr).toMatch(/--retain-until.*in the past/);
  } finally {
    await proxy.stop();
  }
});
