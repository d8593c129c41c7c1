/**
 * `scw-backup run --plan PLAN --shard I/N`: four CLI processes at once, each taking its shard's due
 * backups of one plan into one S3 store, against the Scaleway API emulator (in this process: async
 * child processes only). Needs a build (`npm test` builds first).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSnapshots } from '../../engine';
import { initStore, withStore } from '../../provider/connection';
import type { Plan } from '../../provider/plan';
import { startRig, type Rig } from '../emulator/harness';
import { TEST_INIT, prng, tempDir } from '../helpers';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';
import { jsonLines, runCli } from './spawn-cli';

const MiB = 1024 * 1024;
const PASSPHRASE = 'fleet store passphrase';
let rig: Rig;
let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let plan: Plan;
let planFile: string;
const store = () => ({ url: 's3://fleet/prod', passphrase: PASSPHRASE, s3: { endpoint: rig.s3.endpoint, region: rig.s3.region, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY } });

beforeAll(async () => {
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  await rig.s3.createBucket('fleet');
  dir = await tempDir('scwb-run-');
  const repo = await initStore(store(), TEST_INIT);
  await repo.backend.close();
  const volumes = [];
  for (let i = 0; i < 8; i++) volumes.push(await rig.emulator.createVolume({ name: `vm-${i}`, size: 2 * MiB, bytes: prng(100 + i)(256 * 1024) }));
  plan = {
    version: 1,
    store: { url: 's3://fleet/prod', s3: { endpoint: rig.s3.endpoint, region: rig.s3.region } },
    scaleway: { projectId: rig.emulator.credentials.projectId, apiUrl: rig.emulator.url, s3Endpoint: rig.s3.endpoint },
    sources: volumes.map((v, i) => ({
      name: `vm-${i}`, kind: 'volume' as const, zone: 'fr-par-1', resourceId: v.id, bucket: rig.bucket, schedule: '24h',
      environment: 'production', dataClass: i % 2 ? 'critical' : 'standard', retention: { last: 3 },
    })),
  };
  planFile = join(dir.path, 'plan.json');
  await writeFile(planFile, JSON.stringify(plan));
  env = { SCW_ACCESS_KEY: TEST_ACCESS_KEY, SCW_SECRET_KEY: TEST_SECRET_KEY, SCW_BACKUP_PASSWORD: PASSPHRASE };
});

afterAll(async () => {
  await rig?.stop();
  await dir?.cleanup();
});

type Summary = { backedUp: number; notDue: number; failed: number; sources: Array<{ name: string; result: string; snapshotId?: string }> };
const summaryOf = (stdout: string) => jsonLines(stdout).find((l) => l.type === 'summary') as unknown as Summary;

test('four shards in parallel back up every source once; a second run finds nothing due', async () => {
  const runs = await Promise.all([1, 2, 3, 4].map((i) => runCli(['run', '--plan', planFile, '--shard', `${i}/4`, '--concurrency', '2', '--json'], env)));
  for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const summaries = runs.map((r) => summaryOf(r.stdout));
  const names = summaries.flatMap((s) => s.sources.map((x) => x.name));
  expect(names.sort()).toEqual(plan.sources.map((s) => s.name).sort());
  expect(summaries.reduce((n, s) => n + s.backedUp, 0)).toBe(8);
  // One progress line per source, before the summary.
  expect(runs.flatMap((r) => jsonLines(r.stdout).filter((l) => l.type === 'source')).length).toBe(8);
  const stored = await withStore(store(), async (repo) => (await listSnapshots(repo)).snapshots);
  expect(stored.length).toBe(8);
  expect(new Set(stored.map((s) => s.source.location)).size).toBe(8);
  // The schedule's RPO as a tag: the report reads it without the plan.
  expect(stored.find((s) => s.source.volumeName === 'vm-1')?.tags).toEqual({ rpo: '24h', environment: 'production', dataClass: 'critical' });

  // Nothing is due a minute later: no backup, exit 0.
  const again = await runCli(['run', '--json'], { ...env, SCW_BACKUP_PLAN: JSON.stringify(plan) });
  expect(again.code).toBe(0);
  expect(summaryOf(again.stdout)).toMatchObject({ backedUp: 0, notDue: 8, failed: 0 });
}, 180_000);

test('a source that fails does not stop the others; the exit status says so; bad plans are refused by field', async () => {
  const broken: Plan = { ...plan, sources: [...plan.sources.slice(0, 2).map((s) => ({ ...s, schedule: '5m' })), { ...plan.sources[0], name: 'ghost', resourceId: '00000000-0000-4000-8000-00000000dead' }] };
  const file = join(dir.path, 'broken.json');
  await writeFile(file, JSON.stringify(broken));
  const r = await runCli(['run', '--plan', file, '--json'], env);
  expect(r.code).toBe(1);
  const s = summaryOf(r.stdout);
  expect(s.failed).toBe(1);
  const ghost = s.sources.find((x) => x.name === 'ghost') as unknown as { error: { message: string } };
  expect(ghost.error.message).toContain('volume 00000000-0000-4000-8000-00000000dead does not exist in zone fr-par-1');

  const bad = join(dir.path, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...plan, sources: [{ ...plan.sources[0], kind: 'disk' }] }));
  const refused = await runCli(['run', '--plan', bad], env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('bad.json: sources[0].kind');
  const noKey = await runCli(['run', '--plan', planFile], { SCW_BACKUP_PASSWORD: PASSPHRASE });
  expect(noKey.stderr).toContain('SCW_ACCESS_KEY: not set');
  const badShard = await runCli(['run', '--plan', planFile, '--shard', '5/4'], env);
  expect(badShard.code).toBe(2);
}, 120_000);
