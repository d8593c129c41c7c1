/**
 * `latest` in a store shared by several sources (#16): restic's filters (--source, --host, --tag)
 * choose among them for restore, snapshots, forget and copy; `latest` alone is refused when it is
 * about to become a Scaleway volume, and named in a warning for a local file. Real processes against
 * the local Scaleway emulator and a folder store.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initRepository } from '../../engine';
import { startRig, type Rig } from '../emulator/harness';
import { PASS, TEST_INIT, prng, tempDir } from '../helpers';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

const MiB = 1024 * 1024;
let rig: Rig;
let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await tempDir('scwb-latest-');
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  env = {
    SCW_ACCESS_KEY: TEST_ACCESS_KEY, SCW_SECRET_KEY: TEST_SECRET_KEY, SCW_DEFAULT_PROJECT_ID: rig.emulator.credentials.projectId,
    SCW_DEFAULT_ZONE: 'fr-par-1', SCW_API_URL: rig.emulator.url, SCW_BACKUP_S3_ENDPOINT: rig.s3.endpoint, SCW_BACKUP_BUCKET: rig.bucket,
    SCW_BACKUP_PASSWORD: PASS,
  };
});
afterAll(async () => {
  await rig?.stop();
  await dir?.cleanup();
});

it('restore latest --to a new volume is refused in a store of several disks until a filter says which', async () => {
  const repo = join(dir.path, 'cloud-store');
  await initRepository(repo, PASS, TEST_INIT);
  const volumes: string[] = [];
  for (const seed of [1, 2]) {
    const file = join(dir.path, `vol-${seed}.raw`);
    const data = Buffer.alloc(4 * MiB);
    prng(seed)(MiB).copy(data, MiB);
    await writeFile(file, data);
    const v = await rig.emulator.createVolume({ name: `vol-${seed}`, fromFile: file });
    volumes.push(v.id);
    expect((await runCli(['backup', '--repo', repo, `scaleway-block://fr-par-1/${v.id}`], env)).code).toBe(0);
  }
  const refused = await runCli(['restore', '--repo', repo, 'latest', '--to', 'scaleway-block://fr-par-1'], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/--source: "latest" is ambiguous: .* holds disk snapshots of 2 sources \(scaleway-block:\/\/fr-par-1\/.*\); say which with --source LOCATION/);
  const chosen = await runCli(['restore', '--repo', repo, 'latest', '--to', 'scaleway-block://fr-par-1', '--source', `scaleway-block://fr-par-1/${volumes[0]}`, '--json'], env);
  expect(chosen.stderr).toBe('');
  expect(chosen.code).toBe(0);
  const listed = summaryOf((await runCli(['snapshots', '--repo', repo, '--json', '--source', `scaleway-block://fr-par-1/${volumes[0]}`], env)).stdout) as { snapshots: Array<{ id: string }> };
  expect(summaryOf(chosen.stdout).snapshotId).toBe(listed.snapshots[0].id);
  expect(listed.snapshots).toHaveLength(1);
});

it('local restore, snapshots, forget and copy honour --source, --host and --tag; latest alone names what it chose', async () => {
  const repo = join(dir.path, 'local-store');
  const local = { SCW_BACKUP_PASSWORD: 'pw-latest-passphrase' };
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], local)).code).toBe(0);
  await mkdir(join(dir.path, 'disks'));
  const a = join(dir.path, 'disks', 'a.img');
  const b = join(dir.path, 'disks', 'b.img');
  await writeFile(a, prng(3)(128 * 1024));
  expect((await runCli(['backup', '--repo', repo, '--host', 'web-1', '--tag', 'role=web', a], local)).code).toBe(0);
  await writeFile(b, prng(4)(128 * 1024));
  expect((await runCli(['backup', '--repo', repo, '--host', 'db-1', '--tag', 'role=db', b], local)).code).toBe(0);

  // latest alone: b's, the newest, with a warning naming it.
  const out = join(dir.path, 'latest.out');
  const any = await runCli(['restore', '--repo', repo, 'latest', '--target', out], local);
  expect(any.code).toBe(0);
  expect(any.stderr).toContain(`warning: "latest" of 2 sources (${a}, ${b}) is the newest of them all, of ${b}; choose with --source LOCATION`);
  // With a filter, a's; a relative --source is a path from here.
  for (const filter of [['--source', 'disks/a.img'], ['--host', 'web-1'], ['--tag', 'role=web']]) {
    const target = join(dir.path, `a-${filter[0].slice(2)}.out`);
    const r = await runCli(['restore', '--repo', repo, 'latest', '--target', target, ...filter], local, { cwd: dir.path });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await readFile(target)).equals(await readFile(a))).toBe(true);
  }
  const none = await runCli(['restore', '--repo', repo, 'latest', '--target', join(dir.path, 'none.out'), '--host', 'nobody'], local);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/no disk snapshot in .* of host nobody/);

  const listed = summaryOf((await runCli(['snapshots', '--repo', repo, '--json', '--host', 'db-1'], local)).stdout) as { snapshots: Array<{ source: { location: string } }> };
  expect(listed.snapshots.map((s) => s.source.location)).toEqual([b]);
  const text = (await runCli(['snapshots', '--repo', repo], local)).stdout;
  expect(text).toMatch(/SOURCE/);
  expect(text).toContain(a);

  const copyTarget = join(dir.path, 'copy-store');
  expect((await runCli(['init', '--repo', copyTarget, ...WEAK_KDF], local)).code).toBe(0);
  const copied = await runCli(['copy', '--repo', repo, '--to', copyTarget, '--source', a, '--json'], { ...local, SCW_BACKUP_TO_PASSWORD: 'pw-latest-passphrase' });
  expect((summaryOf(copied.stdout) as { copied: unknown[] }).copied).toHaveLength(1);

  const forget = await runCli(['forget', '--repo', repo, 'latest', '--source', b, '--json'], local);
  expect((summaryOf(forget.stdout) as { removed: string[] }).removed).toHaveLength(1);
  const left = summaryOf((await runCli(['snapshots', '--repo', repo, '--json'], local)).stdout) as { snapshots: Array<{ source: { location: string } }> };
  expect(left.snapshots.map((s) => s.source.location)).toEqual([a]);
});
