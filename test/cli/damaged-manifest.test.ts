/**
 * Issue 22, point 2, from the command line, on a folder store and on the local S3 server: a
 * snapshot file whose bytes were replaced by another snapshot's is refused by name (restoring it
 * used to give the other disk), and every command goes on around it: snapshots lists both (the
 * catalog answers, FORMAT.md §8.2, and reads no manifest), restore latest takes the newest readable
 * one and says which it skipped, check exits 3, prune refuses until it is forgotten, forget ID
 * removes it. The JSON summaries carry it under `damaged`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRepository, type LocationOptions } from '../../engine';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { makeImage, tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('damaged');
  dir = await tempDir('scwb-damaged-cli-');
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

describe.each([
  ['a folder store', () => ({ repo: join(dir.path, 'repo'), env: { SCW_BACKUP_PASSWORD: 'pw-passphrase' }, location: {} as LocationOptions })],
  ['the local S3 server', () => ({
    repo: 's3://damaged/store',
    env: { SCW_BACKUP_PASSWORD: 'pw-passphrase', SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region },
    location: { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })],
])('on %s', (_label, where) => {
  it('reports a swapped snapshot file by name and keeps every command working', async () => {
    const { repo, env, location } = where();
    const cli = (...args: string[]) => runCli([args[0], '--repo', repo, ...args.slice(1)], env);
    expect((await cli('init', ...WEAK_KDF)).code).toBe(0);
    const older = makeImage(1 << 20, 41);
    const ids: string[] = [];
    for (const [name, img] of [['older.img', older], ['newer.img', makeImage(1 << 20, 42)]] as const) {
      const r = await cli('backup', '--json', await writeImage(dir.path, name, img));
      ids.push((summaryOf(r.stdout) as { snapshotId: string }).snapshotId);
    }
    const [olderId, newerId] = ids;
    // The newer snapshot's file now holds the older one's bytes (both open with the store's key).
    const store = await openRepository(repo, 'pw-passphrase', { location });
    const bytes = await store.backend.get(`snapshots/${olderId}`);
    await store.backend.delete(`snapshots/${newerId}`);
    await store.backend.put(`snapshots/${newerId}`, bytes);
    await store.backend.close();
    const named = new RegExp(`snapshots/${newerId} is damaged: its contents do not match its name`);

    const listed = await cli('snapshots', '--json');
    expect(listed.code).toBe(0);
    const summary = summaryOf(listed.stdout) as { snapshots: Array<{ id: string }>; damaged: Array<{ id: string; kind: string; message: string }> };
    expect(summary.snapshots.map((s) => s.id)).toEqual([olderId, newerId]);
    expect(summary.damaged).toEqual([]);
    const text = await cli('snapshots');
    expect(text.stdout).toMatch(/2 snapshot\(s\)/);

    const byId = await cli('restore', newerId.slice(0, 12), '--target', join(dir.path, 'never.img'));
    expect(byId.code).toBe(1);
    expect(byId.stderr).toMatch(named);
    const out = join(dir.path, `latest-${Date.now()}.img`);
    const latest = await cli('restore', 'latest', '--target', out);
    expect(latest.code).toBe(0);
    expect(latest.stderr).toMatch(/skipped: "latest" is the newest readable snapshot/);
    expect(readFileSync(out).equals(older)).toBe(true);

    const check = await cli('check', '--json');
    expect(check.code).toBe(3);
    expect((summaryOf(check.stdout) as { damaged: Array<{ id: string }> }).damaged.map((d) => d.id)).toEqual([newerId]);

    const pruned = await cli('prune', '--grace', '0');
    expect(pruned.code).toBe(1);
    expect(pruned.stderr).toMatch(new RegExp(`prune of .* refused: snapshots/${newerId} cannot be read.*forget ID`));
    const forgot = await cli('forget', newerId.slice(0, 12), '--json');
    expect(forgot.code).toBe(0);
    expect(summaryOf(forgot.stdout)).toMatchObject({ removed: [newerId], damaged: [{ id: newerId }] });
    expect((await cli('prune', '--grace', '0')).code).toBe(0);
    expect((await cli('check')).code).toBe(0);
  });
});
