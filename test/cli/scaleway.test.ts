/**
 * `scw-backup backup scaleway-block://ZONE/VOLUME` and `restore --to scaleway-block://ZONE` through
 * the built CLI (child process, async: the emulator and s3rver live in this process), configured
 * only by the scw CLI variables. Needs a build (`npm test` builds first).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initRepository } from '../../engine';
import { startRig, type Rig } from '../emulator/harness';
import { PASS, TEST_INIT, prng, tempDir } from '../helpers';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';
import { jsonLines, runCli } from './spawn-cli';

const MiB = 1024 * 1024;
let rig: Rig;
let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let repo: string;

beforeAll(async () => {
  dir = await tempDir('scwb-cli-scw-');
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  repo = join(dir.path, 'repo');
  await initRepository(repo, PASS, TEST_INIT);
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

test('a bad URL is a usage error naming it', async () => {
  const r = await runCli(['backup', '--repo', repo, 'scaleway-block://fr-par/not-a-volume'], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('scaleway-block://fr-par/not-a-volume: is not a Scaleway Block URL');
  const r2 = await runCli(['restore', '--repo', repo, 'latest', '--to', 'scaleway-block://nowhere'], env);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toContain('scaleway-block://nowhere');
});

test('backup of a volume, then restore to a new volume: same bytes', async () => {
  const data = Buffer.alloc(8 * MiB);
  prng(11)(3 * MiB).copy(data, MiB);
  const files = join(dir.path, 'v');
  await mkdir(files);
  await writeFile(join(files, 'disk.raw'), data);
  const volume = await rig.emulator.createVolume({ name: 'cli-vol', fromFile: join(files, 'disk.raw') });

  const b = await runCli(['backup', '--repo', repo, '--json', '--tag', 'environment=staging', `scaleway-block://fr-par-1/${volume.id}`], env);
  expect(b.stderr).toBe('');
  expect(b.code).toBe(0);
  const summary = jsonLines(b.stdout).find((l) => l.type === 'summary') as Record<string, unknown>;
  expect(summary).toMatchObject({ command: 'backup', size: 8 * MiB, format: 'qcow2', formatReason: 'scaleway-export', tags: { environment: 'staging' }, source: { kind: 'scaleway-block', volumeId: volume.id } });

  const r = await runCli(['restore', '--repo', repo, '--json', String(summary.snapshotId), '--to', 'scaleway-block://fr-par-1', '--name', 'cli-restored'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const rs = jsonLines(r.stdout).find((l) => l.type === 'summary') as Record<string, unknown>;
  expect(rs).toMatchObject({ command: 'restore', format: 'scaleway-block', volumeName: 'cli-restored' });
  expect((await rig.emulator.readVolume(String(rs.volumeId))).equals(data)).toBe(true);
}, 120_000);

test('--via attach on an Instance (the emulator\'s metadata service and devices): backup and restore, the same bytes; a bad --via is a usage error', async () => {
  const data = prng(12)(2 * MiB);
  const volume = await rig.emulator.createVolume({ name: 'cli-attach', size: 8 * MiB, bytes: data });
  const runner = rig.emulator.createServer({ name: 'cli-runner', state: 'running' });
  rig.emulator.setLocalServer(runner.id);
  const here = { ...env, SCW_BACKUP_METADATA_URL: rig.emulator.metadataUrl, SCW_BACKUP_DEVICE_DIR: rig.emulator.deviceDir };
  try {
    const b = await runCli(['backup', '--repo', repo, '--json', '--via', 'attach', `scaleway-block://fr-par-1/${volume.id}`], here);
    expect(b.stderr).toBe('');
    const summary = jsonLines(b.stdout).find((l) => l.type === 'summary') as Record<string, unknown>;
    expect(summary).toMatchObject({ command: 'backup', via: 'attach', format: 'raw', formatReason: 'scaleway-attach' });
    const r = await runCli(['restore', '--repo', repo, '--json', String(summary.snapshotId), '--to', 'scaleway-block://fr-par-1', '--via', 'attach', '--name', 'cli-attach-restored'], here);
    expect(r.stderr).toBe('');
    const rs = jsonLines(r.stdout).find((l) => l.type === 'summary') as Record<string, unknown>;
    expect(rs).toMatchObject({ via: 'attach', volumeName: 'cli-attach-restored' });
    expect((await rig.emulator.readVolume(String(rs.volumeId))).equals(await rig.emulator.readVolume(volume.id))).toBe(true);
    const bad = await runCli(['backup', '--repo', repo, '--via', 'nfs', `scaleway-block://fr-par-1/${volume.id}`], here);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--via: "nfs" is not a data path: export, attach or auto');
  } finally {
    rig.emulator.setLocalServer(undefined);
  }
}, 120_000);

test('backup of an Instance, then restore to a new server; a group refuses --target; bad URLs are usage errors', async () => {
  const boot = await rig.emulator.createVolume({ name: 'cli-boot', size: 4 * MiB, bytes: prng(21)(MiB) });
  const local = await rig.emulator.createVolume({ name: 'cli-local', size: 2 * MiB, bytes: prng(22)(MiB), type: 'l_ssd' });
  const server = rig.emulator.createServer({ name: 'cli-srv', commercialType: 'DEV1-S', volumeIds: [boot.id, local.id], bootVolumeId: boot.id });

  const bad = await runCli(['backup', '--repo', repo, 'scaleway-instance://fr-par-1/not-a-server'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('scaleway-instance://fr-par-1/not-a-server: is not a Scaleway Instance URL');

  const b = await runCli(['backup', '--repo', repo, '--json', `scaleway-instance://fr-par-1/${server.id}`], env);
  expect(b.stderr).toBe('');
  expect(b.code).toBe(0);
  const summary = jsonLines(b.stdout).find((l) => l.type === 'summary') as Record<string, unknown>;
  expect(summary).toMatchObject({ command: 'backup', kind: 'scaleway-instance', serverId: server.id });
  expect((summary.volumes as unknown[]).length).toBe(2);

  const toFile = await runCli(['restore', '--repo', repo, String(summary.snapshotId), '--target', join(dir.path, 'group.raw')], env);
  expect(toFile.code).toBe(1);
  expect(toFile.stderr).toContain('is the group of an Instance backup');

  const both = await runCli(['restore', '--repo', repo, String(summary.snapshotId), '--to', `scaleway-instance://fr-par-1/${server.id}`, '--new-server', 'x'], env);
  expect(both.code).toBe(2);

  const r = await runCli(['restore', '--repo', repo, '--json', String(summary.snapshotId), '--to', 'scaleway-instance://fr-par-1', '--new-server', 'cli-srv-2'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const rs = jsonLines(r.stdout).find((l) => l.type === 'summary') as { serverId: string; serverCreated: boolean; volumes: Array<{ volumeId: string; boot: boolean; volumeType: string }> };
  expect(rs.serverCreated).toBe(true);
  expect(rs.volumes.map((v) => [v.volumeType, v.boot])).toEqual([['sbs_volume', true], ['l_ssd', false]]);
  expect((await rig.emulator.readVolume(rs.volumes[0].volumeId)).equals(await rig.emulator.readVolume(boot.id))).toBe(true);
  expect((await rig.emulator.readVolume(rs.volumes[1].volumeId)).equals(await rig.emulator.readVolume(local.id))).toBe(true);
}, 120_000);

test('drill of a Block volume snapshot: a scratch volume, verified and deleted; a group is refused; --to-file drills to a file', async () => {
  const volume = await rig.emulator.createVolume({ name: 'cli-drilled', size: 4 * MiB, bytes: prng(31)(MiB) });
  const b = await runCli(['backup', '--repo', repo, '--json', `scaleway-block://fr-par-1/${volume.id}`], env);
  expect(b.code).toBe(0);
  const snapshotId = String((jsonLines(b.stdout).find((l) => l.type === 'summary') as Record<string, unknown>).snapshotId);
  const before = rig.emulator.list().volumes.length;

  const d = await runCli(['drill', '--repo', repo, '--json', snapshotId], env);
  expect(d.stderr).toBe('');
  expect(d.code).toBe(0);
  const s = jsonLines(d.stdout).find((l) => l.type === 'summary') as Record<string, unknown>;
  expect(s).toMatchObject({ command: 'drill', result: 'passed', target: 'scaleway-block', snapshot: snapshotId, bytesVerified: 4 * MiB });
  expect(rig.emulator.list().volumes.length).toBe(before);

  const f = await runCli(['drill', '--repo', repo, '--json', '--to-file', '--scratch-dir', dir.path, snapshotId], env);
  expect(f.code).toBe(0);
  expect(jsonLines(f.stdout).find((l) => l.type === 'summary')).toMatchObject({ result: 'passed', target: 'file' });

  const group = (await runCli(['snapshots', '--repo', repo, '--json'], env)).stdout;
  const groupId = ((jsonLines(group).find((l) => l.type === 'summary') as { snapshots: Array<{ id: string; source: { format: string } }> }).snapshots.find((x) => x.source.format === 'group') as { id: string }).id;
  const g = await runCli(['drill', '--repo', repo, groupId], env);
  expect(g.code).toBe(1);
  expect(g.stderr).toContain('is the group of an Instance backup: drill each of its volume snapshots');
}, 120_000);
