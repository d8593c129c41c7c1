import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { makeImage, tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('prod-backups');
  await s3.createBucket('offsite-backups');
  dir = await tempDir('scwb-cli-copy-');
  env = { SCW_BACKUP_PASSWORD: 'pw-source-passphrase', SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

it('copies every snapshot to a second bucket with its own passphrase; a second copy transfers nothing', async () => {
  const a = 's3://prod-backups/main';
  const b = 's3://offsite-backups/copy';
  const toEnv = { ...env, SCW_BACKUP_PASSWORD: 'pw-target-passphrase' };
  expect((await runCli(['init', '--repo', a, ...WEAK_KDF], env)).code).toBe(0);
  expect((await runCli(['init', '--repo', b, ...WEAK_KDF], toEnv)).code).toBe(0);
  const img1 = makeImage(2 << 20, 201);
  const img2 = Buffer.from(img1);
  makeImage(256 << 10, 202).copy(img2, 1 << 20);
  for (const img of [img1, img2]) expect((await runCli(['backup', '--repo', a, await writeImage(dir.path, 'vm.img', img)], env)).code).toBe(0);

  const pw = join(dir.path, 'to-pw');
  await writeFile(pw, 'pw-target-passphrase\n');
  const first = await runCli(['copy', '--repo', a, '--to', b, '--to-password-file', pw, '--json'], env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const s1 = summaryOf(first.stdout) as { command: string; copied: Array<{ target: string; chunksReused: number }>; bytesNew: number };
  expect(s1.command).toBe('copy');
  expect(s1.copied).toHaveLength(2);
  expect(s1.copied[1].chunksReused).toBeGreaterThan(0);

  // Restore from the copy, with the copy's passphrase, byte for byte.
  for (const [i, img] of [img1, img2].entries()) {
    const out = join(dir.path, `copy-${i}.out`);
    expect((await runCli(['restore', '--repo', b, s1.copied[i].target, '--target', out], toEnv)).code).toBe(0);
    expect((await readFile(out)).equals(img)).toBe(true);
  }
  expect((await runCli(['check', '--repo', b, '--read-data'], toEnv)).code).toBe(0);

  const second = await runCli(['copy', '--repo', a, '--to', b, '--json'], { ...env, SCW_BACKUP_TO_PASSWORD: 'pw-target-passphrase' });
  expect(second.code).toBe(0);
  expect(summaryOf(second.stdout)).toMatchObject({ copied: [], bytesRead: 0, bytesNew: 0, bytesStored: 0 });
  expect((summaryOf(second.stdout).alreadyThere as unknown[]).length).toBe(2);
  const text = await runCli(['copy', '--repo', a, '--to', b], { ...env, SCW_BACKUP_TO_PASSWORD: 'pw-target-passphrase' });
  expect(text.stdout).toMatch(/0 snapshot\(s\) copied, 2 already there/);
});

it('refuses a wrong target passphrase and a target that chunks differently', async () => {
  const a = 's3://prod-backups/refuse';
  const c = 's3://offsite-backups/cdc';
  expect((await runCli(['init', '--repo', a, ...WEAK_KDF], env)).code).toBe(0);
  expect((await runCli(['init', '--repo', c, ...WEAK_KDF, '--chunker', 'fastcdc'], env)).code).toBe(0);
  const wrong = await runCli(['copy', '--repo', a, '--to', c], { ...env, SCW_BACKUP_TO_PASSWORD: 'nope' });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/passphrase does not open any key of the repository at s3:\/\/offsite-backups\/cdc/);
  const diff = await runCli(['copy', '--repo', a, '--to', c], { ...env, SCW_BACKUP_TO_PASSWORD: 'pw-source-passphrase' });
  expect(diff.code).toBe(1);
  expect(diff.stderr).toMatch(/cut disks differently/);
  // No target passphrase given: the source's is tried, and opens c (same passphrase), which then refuses.
  const same = await runCli(['copy', '--repo', a, '--to', c], { ...env, SCW_BACKUP_TO_PASSWORD: undefined });
  expect(same.code).toBe(1);
  expect(same.stderr).toMatch(/cut disks differently/);
  // A target with a passphrase of its own, none given: the error says how to give it.
  const d = 's3://offsite-backups/own-pass';
  expect((await runCli(['init', '--repo', d, ...WEAK_KDF], { ...env, SCW_BACKUP_PASSWORD: 'pw-other-passphrase' })).code).toBe(0);
  const none = await runCli(['copy', '--repo', a, '--to', d], { ...env, SCW_BACKUP_TO_PASSWORD: undefined });
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/no passphrase was given for the target, so the source's was tried; give the target's with --to-password-file or SCW_BACKUP_TO_PASSWORD/);
  // A target that does not exist yet: how to make it.
  const missing = await runCli(['copy', '--repo', a, '--to', join(dir.path, 'no-such-store')], env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`create the target first, with the source's chunking: scw-backup init --repo ${join(dir.path, 'no-such-store')} --chunker fixed --chunk-size 65536`);
});
