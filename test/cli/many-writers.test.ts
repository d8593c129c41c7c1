/**
 * Many writers, one store: four CLI processes back up four different disks (sharing some content)
 * into the same s3:// store at the same time. All succeed, every snapshot restores, and
 * check --read-data finds nothing wrong.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { prng, tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

const CHUNK = 64 * 1024;
let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('shared');
  dir = await tempDir('scwb-writers-');
  env = {
    SCW_BACKUP_PASSWORD: 'pw-many-passphrase', SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey,
    SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region,
  };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

it('four concurrent backups into one s3 store all succeed and restore', async () => {
  const repo = 's3://shared/fleet';
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB'], env)).code).toBe(0);
  // A common base image (the OS) and per-machine data.
  const base = prng(70)(48 * CHUNK);
  const images = [1, 2, 3, 4].map((n) => {
    const img = Buffer.concat([base, prng(70 + n)(16 * n * CHUNK)]);
    prng(80 + n)(CHUNK).copy(img, n * 5 * CHUNK); // and each one changed one block of the base
    return img;
  });
  const paths = await Promise.all(images.map((img, i) => writeImage(dir.path, `vm${i + 1}.img`, img)));

  const runs = await Promise.all(paths.map((p, i) => runCli(['backup', '--repo', repo, '--json', '--host', `vm-${i + 1}`, p], env)));
  for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const ids = runs.map((r) => summaryOf(r.stdout).snapshotId as string);
  expect(new Set(ids).size).toBe(4);

  const list = summaryOf((await runCli(['snapshots', '--repo', repo, '--json'], env)).stdout) as { snapshots: Array<{ id: string }> };
  expect(list.snapshots.map((s) => s.id).sort()).toEqual([...ids].sort());
  for (let i = 0; i < 4; i++) {
    const out = join(dir.path, `vm${i + 1}.out`);
    expect((await runCli(['restore', '--repo', repo, ids[i], '--target', out], env)).code).toBe(0);
    expect((await readFile(out)).equals(images[i])).toBe(true);
  }
  const check = await runCli(['check', '--repo', repo, '--read-data', '--json'], env);
  expect(check.code).toBe(0);
  expect(summaryOf(check.stdout)).toMatchObject({ ok: true, errors: [], snapshots: 4 });
  // No writer left a lock behind.
  const unlock = summaryOf((await runCli(['unlock', '--repo', repo, '--json'], env)).stdout);
  expect(unlock).toMatchObject({ removed: [], kept: [] });

  // Writers that start together cannot see each other's index yet: each stored the shared base.
  // Prune keeps one copy of every blob, and the store still checks clean and restores.
  const prune = await runCli(['prune', '--repo', repo, '--grace', '0', '--json'], env);
  expect(prune.code).toBe(0);
  const p = summaryOf(prune.stdout) as { blobs: { total: number; used: number } };
  expect(p.blobs.total).toBeGreaterThan(p.blobs.used);
  // A second prune has nothing left to do. (Unused duplicates may remain inside packs that are mostly
  // used: those stay below the repack threshold by design, depending on how the writers filled them.)
  const after = summaryOf((await runCli(['prune', '--repo', repo, '--dry-run', '--grace', '0', '--json'], env)).stdout) as {
    blobs: { total: number; used: number }; packs: { removed: number; repacked: number };
  };
  expect(after.packs).toMatchObject({ removed: 0, repacked: 0 });
  // What the first prune left unused (duplicates in mostly-used packs) is all that remains unused.
  expect(after.blobs.total - after.blobs.used).toBeLessThanOrEqual(p.blobs.total - p.blobs.used);
  expect((await runCli(['check', '--repo', repo, '--read-data'], env)).code).toBe(0);
  const out = join(dir.path, 'vm4.again');
  expect((await runCli(['restore', '--repo', repo, ids[3], '--target', out], env)).code).toBe(0);
  expect((await readFile(out)).equals(images[3])).toBe(true);
});
