/**
 * A backup paused while a prune runs (FORMAT.md §9), with real processes on a folder store and on the
 * local S3 server. The backup is stopped with SIGSTOP once it has stored packs and before it saves its
 * snapshot, and resumed with SIGCONT. Hosts' clocks are shifted with libfaketime (Debian `faketime`,
 * installed by .ci/run), which moves a process's wall and monotonic clocks but not the store's
 * (file times come from the kernel; the S3 server runs unshifted in this process).
 *
 * - A prune on a host whose clock is 2 h ahead must not take the paused backup's lock for stale: the
 *   store's clock says it was written moments ago. It refuses; the backup resumes and completes.
 * - A backup whose lock really lapsed (paused 40 minutes by its clock and the store's, shifted for the
 *   test) meets a prune that rightly ignores its lock; when it resumes it stops with LOCK_EXPIRED and
 *   saves nothing, and the store checks clean.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listLocks, openBackend, openRepository, type Backend, type LockInfo, type LocationOptions } from '../../engine';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { libfaketime, shiftedClock, tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, startCli, type RunningCli } from './spawn-cli';

const PASSWORD = 'pw-paused-passphrase';
let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('paused');
  dir = await tempDir('scwb-paused-');
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
  env = { SCW_BACKUP_PASSWORD: PASSWORD, SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

/** A process whose clocks run `offset` (e.g. "+2h") from the real ones. */
const shifted = shiftedClock;
/** A process whose clock offset is read from `file` (re-read at every clock reading), so a test can move it while it runs. */
const movable = (file: string): NodeJS.ProcessEnv => ({ LD_PRELOAD: libfaketime(), FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1' });

interface Store {
  repo: string;
  backend: Backend;
  /** Make an object look written at `when` by the store's clock. */
  age(path: string, when: Date): Promise<void>;
}

const stores: Array<{ name: string; make(): Promise<Store> }> = [
  {
    name: 'folder',
    make: async () => {
      const repo = join(dir.path, randomBytes(4).toString('hex'));
      return { repo, backend: await openBackend(repo, { create: true }), age: (path, when) => utimes(join(repo, ...path.split('/')), when, when) };
    },
  },
  {
    name: 's3',
    make: async () => {
      const prefix = randomBytes(4).toString('hex');
      const repo = `s3://paused/${prefix}`;
      return { repo, backend: await openBackend(repo, location), age: (path, when) => s3.age('paused', `${prefix}/${path}`, when) };
    },
  },
];

async function count(backend: Backend, prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of backend.list(prefix)) n++;
  return n;
}

/**
 * Start a backup and SIGSTOP it once it has stored a few packs and not yet its snapshot (retried
 * with a fresh start on the rare run that finishes before it can be caught).
 */
async function pausedBackup(store: Store, image: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningCli> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await count(store.backend, 'packs');
    const backup = startCli(['backup', '--repo', store.repo, '--json', image], { ...env, ...extraEnv });
    for (let i = 0; i < 2000 && backup.child.exitCode === null; i++) {
      if (await count(store.backend, 'packs') >= before + 2) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    backup.child.kill('SIGSTOP');
    if (backup.child.exitCode === null && await count(store.backend, 'snapshots') === 0) return backup;
    backup.child.kill('SIGCONT');
    const r = await backup.done;
    if (r.code !== 0) throw new Error(`the backup failed before it could be paused: ${r.stderr}`);
    // It finished first: start again from an empty snapshot list.
    for await (const o of store.backend.list('snapshots')) await store.backend.delete(o.path);
  }
  throw new Error('could not catch the backup in the middle three times');
}

describe.each(stores)('on a $name store', ({ make }) => {
  it('a prune on a host whose clock is 2 h ahead does not take a paused backup\'s lock for stale', async () => {
    const store = await make();
    expect((await runCli(['init', '--repo', store.repo, ...WEAK_KDF, '--pack-size', '1MiB'], env)).code).toBe(0);
    const data = randomBytes(128 << 20);
    const image = await writeImage(dir.path, `ahead-${randomBytes(3).toString('hex')}.img`, data);
    const backup = await pausedBackup(store, image);
    try {
      const prune = await runCli(['prune', '--repo', store.repo], { ...env, ...shifted('+2h') });
      expect(prune.code).toBe(1);
      expect(prune.stderr).toMatch(new RegExp(`cannot start prune: .* is locked by a non-exclusive lock held by .*, pid ${backup.child.pid}`));
    } finally {
      backup.child.kill('SIGCONT');
    }
    const done = await backup.done;
    expect({ code: done.code, stderr: done.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await runCli(['check', '--repo', store.repo, '--read-data'], env)).code).toBe(0);
    const out = join(dir.path, `ahead-${randomBytes(3).toString('hex')}.out`);
    expect((await runCli(['restore', '--repo', store.repo, 'latest', '--target', out], env)).code).toBe(0);
    expect((await readFile(out)).equals(data)).toBe(true);
  });

  it('a backup whose lock lapsed while it was paused stops when it resumes, and saves nothing', async () => {
    const store = await make();
    expect((await runCli(['init', '--repo', store.repo, ...WEAK_KDF, '--pack-size', '1MiB'], env)).code).toBe(0);
    const image = await writeImage(dir.path, `lapsed-${randomBytes(3).toString('hex')}.img`, randomBytes(128 << 20));
    const clockFile = join(dir.path, `clock-${randomBytes(3).toString('hex')}`);
    await writeFile(clockFile, '+0\n');
    const backup = await pausedBackup(store, image, movable(clockFile));
    try {
      // 40 minutes pass, for the paused process and for the store: its lock was last written then.
      await writeFile(clockFile, '+40m\n');
      const repo = await openRepository(store.repo, PASSWORD, { location });
      const held = (await listLocks(repo)).find((l): l is LockInfo => 'pid' in l && l.pid === backup.child.pid);
      expect(held).toBeDefined();
      await store.age((held as LockInfo).path, new Date(Date.now() - 40 * 60_000));
      const prune = await runCli(['prune', '--repo', store.repo, '--grace', '0'], env);
      expect({ code: prune.code, stderr: prune.stderr }).toEqual({ code: 0, stderr: '' });
      expect(prune.stdout).toMatch(new RegExp(`warning: ignored stale a non-exclusive lock held by .*, pid ${backup.child.pid}`));
    } finally {
      backup.child.kill('SIGCONT');
    }
    const done = await backup.done;
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/scw-backup: stopped: our lock locks\/[0-9a-f]+ in .* was last refreshed 40 minutes ago, so another process \(a prune\) may have treated it as stale; nothing more was written or removed/);
    expect(await count(store.backend, 'snapshots')).toBe(0);
    expect(await count(store.backend, 'locks')).toBe(0);
    const check = await runCli(['check', '--repo', store.repo, '--read-data'], env);
    expect({ code: check.code, stderr: check.stderr, stdout: check.stdout }).toMatchObject({ code: 0, stderr: '' });
  });
});

// Keep the helper honest: the shifted process really sees the shifted clock, the store does not.
it('libfaketime shifts a child process\'s clock and not the file times it writes', async () => {
  const file = join(dir.path, 'faketime-probe');
  const probe = `const fs=require('fs');fs.writeFileSync(${JSON.stringify(file)},'x');console.log(Date.now()-fs.statSync(${JSON.stringify(file)}).mtimeMs)`;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', probe], { env: { ...process.env, ...shifted('+2h') } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((res) => child.on('close', res));
  const skew = Number(out.trim());
  expect(skew).toBeGreaterThan(2 * 3600_000 - 60_000);
  expect(skew).toBeLessThan(2 * 3600_000 + 60_000);
  expect((await readdir(dir.path)).includes('faketime-probe')).toBe(true);
});
