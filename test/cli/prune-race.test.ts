/**
 * Prune racing writers and other prunes, with real processes. The fault proxy holds a process in
 * the middle of its work (its S3 requests stall), so that the race is certain, not timed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listLocks, openRepository, type LockInfo } from '../../engine';
import { startFaultProxy, type FaultProxy } from '../rig/fault-proxy';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { makeImage, prng, tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, startCli, summaryOf, type RunningCli } from './spawn-cli';

let s3: S3TestServer;
let proxy: FaultProxy;
let dir: { path: string; cleanup: () => Promise<void> };
let direct: NodeJS.ProcessEnv;
let viaProxy: NodeJS.ProcessEnv;
const PASSWORD = 'pw-race-passphrase';

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('race');
  proxy = await startFaultProxy(s3.endpoint);
  dir = await tempDir('scwb-race-');
  direct = { SCW_BACKUP_PASSWORD: PASSWORD, SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region };
  viaProxy = { ...direct, SCW_BACKUP_S3_ENDPOINT: proxy.endpoint };
});
afterAll(async () => {
  await proxy.stop();
  await s3.stop();
  await dir.cleanup();
});
afterEach(() => proxy.reset());

/** Wait until the store holds a readable lock of the given kind, and return it. */
async function lockOf(repo: string, exclusive: boolean, running: RunningCli): Promise<LockInfo> {
  const r = await openRepository(repo, PASSWORD, { location: { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } });
  for (let i = 0; i < 400; i++) {
    const found = (await listLocks(r)).find((l): l is LockInfo => !('unreadable' in l) && l.exclusive === exclusive);
    if (found) return found;
    if (running.child.exitCode !== null) throw new Error(`the process ended first: ${(await running.done).stderr}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('no lock appeared');
}

async function kill(running: RunningCli): Promise<void> {
  running.child.kill('SIGKILL');
  await running.done;
}

it('prune refuses while a backup runs, naming its lock; once the backup is dead, unlock and prune', async () => {
  const repo = 's3://race/backup-vs-prune';
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB'], direct)).code).toBe(0);
  const img = makeImage(3 << 20, 90);
  const first = await runCli(['backup', '--repo', repo, '--json', await writeImage(dir.path, 'first.img', img)], direct);
  expect(first.code).toBe(0);

  // The second backup's pack uploads hang: it holds its lock, mid-way.
  proxy.failNext(1000, { kind: 'stall' }, { method: 'PUT', url: /\/packs\// });
  const backup = startCli(['backup', '--repo', repo, await writeImage(dir.path, 'second.img', prng(91)(3 << 20))], viaProxy);
  const held = await lockOf(repo, false, backup);
  expect(held.pid).toBe(backup.child.pid);

  const refused = await runCli(['prune', '--repo', repo, '--grace', '0'], direct);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(new RegExp(`cannot start prune: .*locked by a non-exclusive lock held by .*, pid ${backup.child.pid}, since ${held.time}`));

  // The backup dies (its lock stays). Its host is this one and its pid is gone: stale at once.
  await kill(backup);
  const unlock = summaryOf((await runCli(['unlock', '--repo', repo, '--json'], direct)).stdout) as { removed: Array<{ pid: number }> };
  expect(unlock.removed.map((l) => l.pid)).toEqual([backup.child.pid]);
  const pruned = await runCli(['prune', '--repo', repo, '--grace', '0', '--json'], direct);
  expect(pruned.code).toBe(0);
  expect((await runCli(['check', '--repo', repo, '--read-data'], direct)).code).toBe(0);
  const out = join(dir.path, 'first.out');
  expect((await runCli(['restore', '--repo', repo, 'latest', '--target', out], direct)).code).toBe(0);
  expect((await readFile(out)).equals(img)).toBe(true);
});

it('two prunes at once: the second refuses, naming the first; a backup refuses too', async () => {
  const repo = 's3://race/prune-vs-prune';
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB'], direct)).code).toBe(0);
  const img = makeImage(2 << 20, 92);
  const path = await writeImage(dir.path, 'p.img', img);
  expect((await runCli(['backup', '--repo', repo, path], direct)).code).toBe(0);

  // The first prune stalls once it holds the store (reading the snapshots).
  proxy.failNext(1000, { kind: 'stall' }, { method: 'GET', url: /snapshots/ });
  const first = startCli(['prune', '--repo', repo, '--grace', '0'], viaProxy);
  const held = await lockOf(repo, true, first);
  expect(held).toMatchObject({ exclusive: true, operation: 'prune', pid: first.child.pid });

  const second = await runCli(['prune', '--repo', repo, '--grace', '0', '--json'], direct);
  expect(second.code).toBe(1);
  expect(second.stdout).toBe(''); // no summary: it did nothing
  expect(second.stderr).toMatch(new RegExp(`cannot start prune: .*locked by an exclusive lock \\(prune\\) held by .*, pid ${first.child.pid}, since ${held.time}`));
  const backup = await runCli(['backup', '--repo', repo, path], direct);
  expect(backup.code).toBe(1);
  expect(backup.stderr).toMatch(/cannot lock the repository for writing: .*exclusive lock \(prune\)/);

  await kill(first);
  expect((await runCli(['unlock', '--repo', repo], direct)).code).toBe(0);
  expect((await runCli(['prune', '--repo', repo, '--grace', '0'], direct)).code).toBe(0);
  expect((await runCli(['backup', '--repo', repo, path], direct)).code).toBe(0);
  expect((await runCli(['check', '--repo', repo, '--read-data'], direct)).code).toBe(0);
});
