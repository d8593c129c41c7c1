/**
 * SIGTERM and SIGINT in every phase of a Scaleway backup and restore, through the built CLI (child
 * processes; the emulator and s3rver live in this process): the command stops, removes what it had
 * created, says what it removed, and exits 143 or 130; the emulator then holds no snapshot, volume or
 * staging object of ours. The phases are made long enough to be hit: the emulator's transitions take
 * seconds, and the reads and writes of the staging bucket are held by a proxy that never answers.
 * Needs a build (`npm test` builds first).
 */
import { join } from 'node:path';
import { initRepository, listSnapshots, openRepository } from '../../engine';
import { startRig, type Rig } from '../emulator/harness';
import { PASS, TEST_INIT, prng, tempDir } from '../helpers';
import { startFaultProxy, type FaultProxy } from '../rig/fault-proxy';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';
import { startCli, type CliResult, type RunningCli } from './spawn-cli';

const MiB = 1024 * 1024;
const SLOW = { snapshotCreate: 1500, export: 1500, import: 1500, volumeCreate: 1500 };
const FAST = { snapshotCreate: 50, export: 50, import: 50, volumeCreate: 20 };
let rig: Rig;
let proxy: FaultProxy;
let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let repo: string;

beforeAll(async () => {
  dir = await tempDir('scwb-cli-stop-');
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  proxy = await startFaultProxy(rig.s3.endpoint);
  repo = join(dir.path, 'repo');
  await initRepository(repo, PASS, TEST_INIT);
  env = {
    SCW_ACCESS_KEY: TEST_ACCESS_KEY, SCW_SECRET_KEY: TEST_SECRET_KEY, SCW_DEFAULT_PROJECT_ID: rig.emulator.credentials.projectId,
    SCW_DEFAULT_ZONE: 'fr-par-1', SCW_API_URL: rig.emulator.url, SCW_BACKUP_S3_ENDPOINT: proxy.endpoint, SCW_BACKUP_BUCKET: rig.bucket,
    SCW_BACKUP_PASSWORD: PASS,
  };
});
afterAll(async () => {
  await proxy?.stop();
  await rig?.stop();
  await dir?.cleanup();
});
afterEach(() => {
  proxy.reset();
  rig.emulator.setDelays(FAST);
});

/** Send `signal` once the command's JSON progress has reached `phase` `times` times. */
async function stopAt(cli: RunningCli, phase: string, signal: NodeJS.Signals, times = 1): Promise<CliResult> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    cli.child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split(`"phase":"${phase}"`).length > times && !cli.child.killed) {
        cli.child.kill(signal);
        resolve();
      }
    });
    void cli.done.then((r) => reject(new Error(`the command ended before phase ${phase}: ${r.code} ${r.stderr}`)));
  });
  return cli.done;
}

/** Ids of the volumes and servers there are now: what a test made before the command it stops. */
function existing(): string[] {
  const state = rig.emulator.list();
  return [...state.volumes.map((v) => v.id), ...state.servers.map((s) => s.id)];
}

/** Volumes and servers that are not in `keep`, and every snapshot and staging object, that are left. */
async function leftovers(keep: string[]): Promise<{ volumes: string[]; blockSnapshots: string[]; instanceSnapshots: string[]; objects: string[]; servers: string[] }> {
  const state = rig.emulator.list();
  return {
    volumes: state.volumes.map((v) => v.id).filter((id) => !keep.includes(id)),
    blockSnapshots: state.blockSnapshots.map((s) => `${s.name} ${s.status}`),
    instanceSnapshots: state.instanceSnapshots.map((s) => `${s.name} ${s.state}`),
    objects: await keys(),
    servers: state.servers.map((s) => s.id).filter((id) => !keep.includes(id)),
  };
}
const NONE = { volumes: [], blockSnapshots: [], instanceSnapshots: [], objects: [], servers: [] };

async function keys(): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const out = await rig.s3client.send(new ListObjectsV2Command({ Bucket: rig.bucket }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

async function storeSnapshots(): Promise<number> {
  const r = await openRepository(repo, PASS);
  try {
    return (await listSnapshots(r)).snapshots.length;
  } finally {
    await r.backend.close();
  }
}

function volume(name: string, size = 8 * MiB): Promise<string> {
  return rig.emulator.createVolume({ name, size, bytes: prng(name.length)(3 * MiB) }).then((v) => v.id);
}

describe('a Scaleway backup stopped in each phase removes what it created', () => {
  test.each([
    ['snapshotting', 'SIGTERM', 143],
    ['exporting', 'SIGINT', 130],
    ['reading', 'SIGTERM', 143],
  ] as const)('stopped while %s by %s: exit %d, nothing left, and it says what it removed', async (phase, signal, code) => {
    const volumeId = await volume(`stop-${phase}`);
    const keep = existing();
    const before = await storeSnapshots();
    rig.emulator.setDelays(SLOW);
    // Reading: the export's ranged GETs are held, never answered.
    if (phase === 'reading') proxy.failNext(50, { kind: 'stall' }, { method: 'GET', url: /\.qcow2/ });
    const r = await stopAt(startCli(['backup', '--repo', repo, '--json', `scaleway-block://fr-par-1/${volumeId}`], env), phase, signal);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(`scw-backup: ${signal}: stopping at the next safe point and cleaning up`);
    const said = /interrupted by SIG\w+: backup stopped and released its lock; no snapshot was saved; removed what it had created: (.*)$/m.exec(r.stderr);
    expect(said).not.toBeNull();
    // The snapshot always; the staging object once the export was started.
    expect(said?.[1]).toMatch(/snapshot [0-9a-f-]{36}/);
    if (phase !== 'snapshotting') expect(said?.[1]).toContain(`s3://${rig.bucket}/scw-backup/${volumeId}/`);
    expect(await leftovers(keep)).toEqual(NONE);
    expect(await storeSnapshots()).toBe(before);
  }, 60_000);
});

describe('a Scaleway restore stopped in each phase removes what it created', () => {
  let snapshotId: string;
  let source: string;
  beforeAll(async () => {
    source = await volume('restore-source');
    const b = startCli(['backup', '--repo', repo, '--json', `scaleway-block://fr-par-1/${source}`], env);
    const r = await b.done;
    expect(r.code).toBe(0);
    snapshotId = String((JSON.parse(r.stdout.trim().split('\n').pop() as string) as { snapshotId: string }).snapshotId);
  });

  test.each([
    ['uploading', 'SIGTERM', 143],
    ['importing', 'SIGINT', 130],
    ['creating-volume', 'SIGTERM', 143],
  ] as const)('stopped while %s by %s: exit %d, no image, snapshot or volume left', async (phase, signal, code) => {
    const keep = existing();
    rig.emulator.setDelays(SLOW);
    if (phase === 'uploading') proxy.failNext(5, { kind: 'stall' }, { method: 'PUT', url: /\/restore\// });
    const r = await stopAt(startCli(['restore', '--repo', repo, '--json', snapshotId, '--to', 'scaleway-block://fr-par-1'], env), phase, signal);
    expect(r.code).toBe(code);
    const said = /interrupted by SIG\w+: restore stopped and released its lock; removed what it had created: (.*)$/m.exec(r.stderr);
    expect(said).not.toBeNull();
    expect(said?.[1]).toContain(`s3://${rig.bucket}/scw-backup/restore/`);
    if (phase !== 'uploading') expect(said?.[1]).toMatch(/snapshot [0-9a-f-]{36}/);
    if (phase === 'creating-volume') expect(said?.[1]).toMatch(/volume [0-9a-f-]{36}/);
    expect(await leftovers(keep)).toEqual(NONE);
  }, 60_000);
});

test('an Instance backup stopped in its second volume drops the first and leaves nothing', async () => {
  const boot = await volume('srv-boot');
  const local = (await rig.emulator.createVolume({ name: 'srv-local', size: 4 * MiB, bytes: prng(5)(MiB), type: 'l_ssd' })).id;
  const server = rig.emulator.createServer({ name: 'srv-stop', volumeIds: [boot, local], bootVolumeId: boot });
  const before = await storeSnapshots();
  const keep = existing();
  rig.emulator.setDelays(SLOW);
  const r = await stopAt(startCli(['backup', '--repo', repo, '--json', `scaleway-instance://fr-par-1/${server.id}`], env), 'exporting', 'SIGTERM', 2);
  expect(r.code).toBe(143);
  // The local volume's export and its Instance snapshot; the SBS volume's backup finished and its manifest was dropped.
  expect(r.stderr).toMatch(/removed what it had created: s3:\/\/\S+\.qcow2, instance snapshot [0-9a-f-]{36}$/m);
  expect(await leftovers(keep)).toEqual(NONE);
  expect(await storeSnapshots()).toBe(before);
}, 60_000);

test('an Instance restore stopped in its second volume removes the first restored volume', async () => {
  const boot = await volume('grp-boot');
  const data = await volume('grp-data');
  const server = rig.emulator.createServer({ name: 'grp-srv', volumeIds: [boot, data], bootVolumeId: boot });
  const b = await startCli(['backup', '--repo', repo, '--json', `scaleway-instance://fr-par-1/${server.id}`], env).done;
  expect(b.code).toBe(0);
  const group = String((JSON.parse(b.stdout.trim().split('\n').pop() as string) as { snapshotId: string }).snapshotId);
  const keep = existing();
  rig.emulator.setDelays(SLOW);
  const r = await stopAt(startCli(['restore', '--repo', repo, '--json', group, '--to', 'scaleway-instance://fr-par-1', '--new-server', 'grp-restored'], env), 'importing', 'SIGTERM', 2);
  expect(r.code).toBe(143);
  const said = /removed what it had created: (.*)$/m.exec(r.stderr);
  // The second volume's image and imported snapshot, then the first volume restored whole.
  expect(said?.[1]).toMatch(/snapshot [0-9a-f-]{36}.*volume [0-9a-f-]{36}/);
  expect(await leftovers(keep)).toEqual(NONE);
}, 60_000);

test('run --plan stopped by SIGTERM (a Serverless Job at its timeout): the running source cleans up, the rest do not start', async () => {
  const { writeFile } = await import('node:fs/promises');
  const volumes = [await volume('fleet-0'), await volume('fleet-1')];
  const plan = {
    version: 1,
    store: { url: repo },
    scaleway: { projectId: rig.emulator.credentials.projectId, apiUrl: rig.emulator.url, s3Endpoint: proxy.endpoint },
    sources: volumes.map((id, i) => ({ name: `fleet-${i}`, kind: 'volume', zone: 'fr-par-1', resourceId: id, bucket: rig.bucket, schedule: '24h', environment: 'production', dataClass: 'standard' })),
  };
  const file = join(dir.path, 'stop-plan.json');
  await writeFile(file, JSON.stringify(plan));
  const keep = existing();
  const before = await storeSnapshots();
  rig.emulator.setDelays(SLOW);
  const cli = startCli(['run', '--plan', file, '--concurrency', '1', '--json'], env);
  for (let i = 0; i < 2000 && !rig.emulator.list().blockSnapshots.some((s) => s.status === 'exporting'); i++) await new Promise((res) => setTimeout(res, 10));
  cli.child.kill('SIGTERM');
  const r = await cli.done;
  expect(r.code).toBe(143);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; result?: string; error?: { message: string }; interrupted?: number });
  const sources = lines.filter((l) => l.type === 'source');
  expect(sources.map((l) => l.result)).toEqual(['interrupted', 'not-started']);
  expect(sources[0].error?.message).toMatch(/^interrupted by SIGTERM; removed what it had created: s3:\/\/\S+\.qcow2, snapshot [0-9a-f-]{36}$/);
  expect(lines[lines.length - 1]).toMatchObject({ type: 'summary', command: 'run', interrupted: 2 });
  expect(r.stderr).toMatch(/interrupted by SIGTERM: run stopped and released its lock; the sources reported as backed up are in the store/);
  expect(await leftovers(keep)).toEqual(NONE);
  expect(await storeSnapshots()).toBe(before);
}, 60_000);
