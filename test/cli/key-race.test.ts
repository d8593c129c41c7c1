/**
 * Key removals racing each other, with real processes (FORMAT.md §3): each `key remove` runs under an
 * exclusive lock and decides from a listing made under it, so whatever runs at once, at least one key
 * stays and every key that stays opens the store.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { initRepository, openRepository, type LocationOptions } from '../../engine';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { TEST_INIT, tempDir } from '../helpers';
import { runCli, type CliResult } from './spawn-cli';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };
let location: LocationOptions;
let s3Env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('keys');
  dir = await tempDir('scwb-keyrace-');
  location = { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
  s3Env = { SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region };
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

const pass = (i: number) => `passphrase number ${i}`;
const weak = { time: 1, memoryKiB: 64, parallelism: 1 };

/** A store with `n` keys, passphrase i opening key i; returns the key ids in that order. */
async function storeWithKeys(repo: string, n: number): Promise<string[]> {
  const r = await initRepository(repo, pass(0), { ...TEST_INIT, location });
  const ids = [r.keyId];
  for (let i = 1; i < n; i++) ids.push(await r.addKey(pass(i), weak, true));
  return ids;
}

/** Key files left, and which of the passphrases still open the store. */
async function survivors(repo: string, n: number): Promise<number[]> {
  const opened: number[] = [];
  for (let i = 0; i < n; i++) {
    if (await openRepository(repo, pass(i), { location }).then(() => true, () => false)) opened.push(i);
  }
  return opened;
}

describe.each([
  { name: 'folder', repo: () => join(dir.path, randomBytes(4).toString('hex')), env: () => ({}) },
  { name: 's3', repo: () => `s3://keys/${randomBytes(4).toString('hex')}`, env: () => s3Env },
])('on a $name store', ({ repo: makeRepo, env }) => {
  it('two removals of each other\'s key never remove both (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const repo = makeRepo();
      const [k0, k1] = await storeWithKeys(repo, 2);
      const runs = await Promise.all([
        runCli(['key', 'remove', '--repo', repo, k1.slice(0, 12)], { ...env(), SCW_BACKUP_PASSWORD: pass(0) }),
        runCli(['key', 'remove', '--repo', repo, k0.slice(0, 12)], { ...env(), SCW_BACKUP_PASSWORD: pass(1) }),
      ]);
      expectOnlyKnownOutcomes(runs);
      expect((await survivors(repo, 2)).length).toBeGreaterThanOrEqual(1);
    }
  });

  it('eight removals at once, each of another process\'s key, leave a key that opens the store', async () => {
    for (let round = 0; round < 2; round++) {
      const repo = makeRepo();
      const ids = await storeWithKeys(repo, 8);
      const runs = await Promise.all(ids.map((_, i) => runCli(['key', 'remove', '--repo', repo, ids[(i + 1) % 8].slice(0, 12)], { ...env(), SCW_BACKUP_PASSWORD: pass(i) })));
      expectOnlyKnownOutcomes(runs);
      const removed = runs.filter((r) => r.code === 0).length;
      const left = await survivors(repo, 8);
      expect(left.length).toBe(8 - removed);
      expect(left.length).toBeGreaterThanOrEqual(1);
      // Whatever was left, removals one at a time still stop at the last key.
      for (const i of left.slice(1)) {
        expect((await runCli(['key', 'remove', '--repo', repo, ids[i].slice(0, 12)], { ...env(), SCW_BACKUP_PASSWORD: pass(left[0]) })).code).toBe(0);
      }
      const last = await runCli(['key', 'remove', '--repo', repo, ids[left[0]].slice(0, 12)], { ...env(), SCW_BACKUP_PASSWORD: pass(left[0]) });
      expect(last.code).toBe(1);
      expect(last.stderr).toMatch(/is the key this session opened the repository with/);
      expect(await survivors(repo, 8)).toEqual([left[0]]);
    }
  });
});

/**
 * A racing removal either succeeds, finds the store locked by another one, or finds that what it
 * would remove is gone or its own key was removed first (then its passphrase opens nothing).
 */
function expectOnlyKnownOutcomes(runs: CliResult[]): void {
  for (const r of runs) {
    if (r.code === 0) continue;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start key remove: .* is locked by an exclusive lock \(key remove\)|does not open any key|no key .* in |is the only key/);
  }
}
