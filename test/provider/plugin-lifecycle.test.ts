/**
 * The examples' dynamic resources through the real Node dynamic-provider plugin of @pulumi/pulumi,
 * driven over gRPC as the engine drives it (test/provider/engine/): the program runs under the SDK's
 * mocks so `__provider` and the preview's unknowns are the SDK's own serialization, and every
 * Check/Diff/Create/Update/Read/Delete goes to the plugin process, started in the program's folder.
 * Against the Scaleway API emulator and the local S3 server. Steps of one stack build on each other.
 *
 * single-volume, from a copy of the package in another folder: first preview (the key, the bucket
 * and so the store are unknown) → up → preview, no change → preview past the RPO → up → an older
 * snapshot deleted → refresh, preview → up (fails once, saying so) → up → the last snapshot deleted →
 * refresh, preview → key
 * rotation preview → the checkout moves → refresh and destroy from the new path (the store stays).
 * Then a store destroyed with force, and the other examples' first previews and a restore drill.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { listDrills, listSnapshots, removeSnapshots } from '../../engine';
import { withStore, type StoreConnection } from '../../provider/connection';
import { startRig, type Rig } from '../emulator/harness';
import { prng } from '../helpers';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';
import { PACKAGE_ROOT, copyCheckout, exampleIn, moveCheckout } from './engine/checkout';
import { TestStack, type OperationResult, type Step } from './engine/deployment';
import { isSecret, type PropertyMap } from './engine/properties';

jest.setTimeout(180_000);

const MiB = 1024 * 1024;
const HOUR = 3_600_000;
const PASSPHRASE = 'the plugin lifecycle passphrase, only ever a secret';
const T = {
  store: 'pulumi-nodejs:dynamic/scw-backup:BackupStore',
  source: 'pulumi-nodejs:dynamic/scw-backup:BackupSource',
  restore: 'pulumi-nodejs:dynamic/scw-backup:Restore',
  drill: 'pulumi-nodejs:dynamic/scw-backup:RestoreDrill',
  apiKey: 'scaleway:iam/apiKey:ApiKey',
  bucket: 'scaleway:object/bucket:Bucket',
} as const;

let rig: Rig;
let tmp: string;

beforeAll(async () => {
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  await rig.s3.createBucket('backups');
  tmp = await mkdtemp(join(tmpdir(), 'scwb-plugin-'));
});

afterAll(async () => {
  await rig?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** What other providers make on `up`: the staging bucket (the rig's) and the backup identity's key. */
function created(): Record<string, PropertyMap> {
  return {
    [T.bucket]: { name: rig.bucket },
    [T.apiKey]: { accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY },
  };
}

/** Stack config pointing an example at the emulator and the S3 server. */
function exampleConfig(extra: Record<string, string>): Record<string, string> {
  return {
    projectId: rig.emulator.credentials.projectId, storeBucket: 'backups', storePassphrase: PASSPHRASE,
    apiUrl: rig.emulator.url, s3Endpoint: rig.s3.endpoint, ...extra,
  };
}

const stepOf = (r: OperationResult, type: string, name?: string): Step => {
  const s = r.steps.find((x) => x.type === type && (name === undefined || x.name === name));
  if (!s) throw new Error(`no step for ${type} ${name ?? ''} in ${JSON.stringify(r.steps.map((x) => `${x.op} ${x.name}`))}`);
  return s;
};
/** `<op> <name>` of the steps of these types, sorted: the program registers in no fixed order. */
const opsOf = (r: OperationResult, ...types: string[]): string[] => r.steps.filter((s) => types.includes(s.type)).map((s) => `${s.op} ${s.name}`).sort();

/** Nothing went wrong, and the plugin printed nothing the engine would show as a global message. */
function expectClean(r: OperationResult): void {
  expect(r.errors).toEqual([]);
  expect(r.pluginOutput.map((l) => l.text)).toEqual([]);
}

function expectNoPlainSecrets(state: unknown): void {
  const strip = (v: unknown): unknown => {
    if (isSecret(v)) return '[secret]';
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]));
    return v;
  };
  const text = JSON.stringify(strip(state));
  expect(text).not.toContain(PASSPHRASE);
  expect(text).not.toContain(TEST_SECRET_KEY);
}

describe('single-volume, from another checkout', () => {
  let stack: TestStack;
  let store: StoreConnection;
  let checkoutA: string;
  const outputsOf = (type: string): PropertyMap => {
    const r = stack.state.find((s) => s.type === type);
    if (!r) throw new Error(`${type} is not in the state`);
    return r.outputs;
  };
  const snapshotsInStore = async () => (await withStore(store, (repo) => listSnapshots(repo))).snapshots;

  beforeAll(async () => {
    checkoutA = join(tmp, 'runner-a', 'infra');
    await copyCheckout(checkoutA);
    const volume = await rig.emulator.createVolume({ name: 'orders-db', size: 4 * MiB, bytes: prng(171)(MiB) });
    stack = new TestStack(exampleIn(checkoutA, 'single-volume', {
      project: 'scw-backup', stack: 'production', config: exampleConfig({ volumeId: volume.id }), secretKeys: ['storePassphrase'],
    }), created());
    store = { url: 's3://backups/production', passphrase: PASSPHRASE, s3: { endpoint: rig.s3.endpoint, region: rig.s3.region, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY } };
  });

  test('first preview: the key, the staging bucket and the store are unknown; Check passes, Diff is not needed, nothing is called', async () => {
    const calls = rig.emulator.requests.length;
    const r = await stack.preview();
    expectClean(r);
    expect(opsOf(r, T.store, T.source)).toEqual(['create store', 'create volume']);
    // The test means something only if the plugin did see unknowns.
    expect(stepOf(r, T.source).unknownInputs).toEqual(expect.arrayContaining(['bucket', 'scaleway', 'store']));
    expect(stepOf(r, T.store).unknownInputs).toEqual(['store']);
    expect(rig.emulator.requests.length).toBe(calls);
  });

  test('up: the store is initialised and the first backup taken; secrets stay secrets in the state', async () => {
    const r = await stack.up();
    expectClean(r);
    expect(opsOf(r, T.store, T.source)).toEqual(['create store', 'create volume']);
    expect(outputsOf(T.source)).toMatchObject({ status: 'ok', snapshotCount: 1 });
    // The report's facts: the RPO and when it runs out, met; never drilled.
    const deadline = new Date(Date.parse(outputsOf(T.source).lastSnapshotTime as string) + 4 * HOUR).toISOString();
    expect(outputsOf(T.source)).toMatchObject({
      rpoSeconds: 4 * 3600, rpoDeadline: deadline, rpoMet: true, lastDrillResult: 'missing', lastDrillId: null, lastDrillRtoSeconds: null, lastDrillTime: null,
    });
    expect(isSecret(outputsOf(T.source).store)).toBe(true);
    expect(isSecret(outputsOf(T.source).scaleway)).toBe(true);
    expect(isSecret(outputsOf(T.store).store)).toBe(true);
    expectNoPlainSecrets(stack.state);
    expect(await snapshotsInStore()).toHaveLength(1);
  });

  test('preview right after: no change, nothing said', async () => {
    const r = await stack.preview();
    expectClean(r);
    expect(opsOf(r, T.store, T.source)).toEqual(['same store', 'same volume']);
    expect(r.logs).toEqual([]);
  });

  test('preview past the RPO: the source wants an update, and says why on the resource, not on stdout', async () => {
    const r = await stack.preview({ clockShiftMs: 5 * HOUR });
    expectClean(r);
    expect(opsOf(r, T.store, T.source)).toEqual(['same store', 'update volume']);
    expect(stepOf(r, T.source).messages).toEqual([expect.stringMatching(/^backup due: the newest snapshot is from .*, schedule 4h/)]);
    // Past the deadline the state's outputs name: what a refresh would turn into rpoMet false.
    expect(stepOf(r, T.source).messages[0]).toContain(`; past its RPO (4h) since ${String(outputsOf(T.source).rpoDeadline)}`);
  });

  test('up past the RPO takes the second backup', async () => {
    const r = await stack.up({ clockShiftMs: 5 * HOUR });
    expectClean(r);
    expect(opsOf(r, T.source)).toEqual(['update volume']);
    expect(outputsOf(T.source)).toMatchObject({ status: 'ok', snapshotCount: 2 });
    expect((await stack.preview({ clockShiftMs: 5 * HOUR })).steps.filter((s) => s.op !== 'same')).toEqual([]);
  });

  test('an older snapshot deleted from the store is drift: retention promised two', async () => {
    const [older] = await snapshotsInStore();
    expect(older.id).not.toBe(outputsOf(T.source).lastSnapshotId);
    await withStore(store, (repo) => removeSnapshots(repo, [older.id]));
    const r = await stack.preview({ clockShiftMs: 5 * HOUR });
    expectClean(r);
    expect(opsOf(r, T.source)).toEqual(['update volume']);
    expect(stepOf(r, T.source).messages.join('\n')).toMatch(new RegExp(`retention .* keeps 2 snapshots .*; the store holds 1 of them: ${older.id.slice(0, 12)} is missing`));
  });

  test('refresh does not hide it: the next preview still reports the missing snapshot', async () => {
    const refreshed = await stack.refresh({ clockShiftMs: 5 * HOUR });
    expectClean(refreshed);
    expect(outputsOf(T.source)).toMatchObject({ snapshotCount: 1 });
    const r = await stack.preview({ clockShiftMs: 5 * HOUR });
    expect(opsOf(r, T.source)).toEqual(['update volume']);
    expect(stepOf(r, T.source).messages.join('\n')).toMatch(/the store holds 1 of them/);
  });

  test('up takes a new backup, records what the store holds, and fails once saying what was lost; the next run clears it', async () => {
    const r = await stack.up({ clockShiftMs: 5 * HOUR });
    expect(r.errors).toEqual([expect.stringMatching(/BackupSource::volume: scaleway-block:\/\/fr-par-1\/.*: the store lost what the state promised \(retention .* the store holds 1 of them: .* is missing\); the update went through/)]);
    expect(outputsOf(T.source)).toMatchObject({ status: 'ok', snapshotCount: 2 });
    expectNoPlainSecrets(stack.state);
    // The engine updates a resource with init errors once more; that update finds nothing wrong.
    expect(opsOf(await stack.preview({ clockShiftMs: 5 * HOUR }), T.source)).toEqual(['update volume']);
    expectClean(await stack.up({ clockShiftMs: 5 * HOUR }));
    expect(outputsOf(T.source)).toMatchObject({ status: 'ok', snapshotCount: 2 });
    expect(opsOf(await stack.preview({ clockShiftMs: 5 * HOUR }), T.source)).toEqual(['same volume']);
  });

  test('the last snapshot deleted: preview reports it, and so does the preview after a refresh', async () => {
    const last = outputsOf(T.source).lastSnapshotId as string;
    await withStore(store, (repo) => removeSnapshots(repo, [last]));
    const missing = new RegExp(`the last snapshot ${last.slice(0, 12)} is missing from the store`);
    const before = await stack.preview({ clockShiftMs: 5 * HOUR });
    expect(opsOf(before, T.source)).toEqual(['update volume']);
    expect(stepOf(before, T.source).messages.join('\n')).toMatch(missing);

    expectClean(await stack.refresh({ clockShiftMs: 5 * HOUR }));
    // The state keeps the id that went missing, and says so.
    expect(outputsOf(T.source)).toMatchObject({ status: 'missing-from-store', lastSnapshotId: last });
    const after = await stack.preview({ clockShiftMs: 5 * HOUR });
    expect(opsOf(after, T.source)).toEqual(['update volume']);
    expect(stepOf(after, T.source).messages.join('\n')).toMatch(missing);
  });

  test('key rotation preview: a new key is unknown; the store and the source update in place, offline', async () => {
    const calls = rig.emulator.requests.length;
    const r = await stack.preview({ clockShiftMs: 5 * HOUR, replacing: [`${T.apiKey}::backup-key`] });
    expectClean(r);
    expect(opsOf(r, T.store, T.source)).toEqual(['update store', 'update volume']);
    expect(stepOf(r, T.source).unknownInputs).toEqual(expect.arrayContaining(['scaleway', 'store']));
    expect(rig.emulator.requests.length).toBe(calls);
  });

  test('refresh and destroy from a moved checkout; the store and its backups stay', async () => {
    const checkoutB = join(tmp, 'runner-b', 'infra-renamed');
    await moveCheckout(checkoutA, checkoutB);
    stack.program = exampleIn(checkoutB, 'single-volume', stack.program);
    const refreshed = await stack.refresh({ clockShiftMs: 5 * HOUR });
    expectClean(refreshed);
    expect(opsOf(refreshed, T.store, T.source)).toEqual(['read store', 'read volume']);
    const destroyed = await stack.destroy({ clockShiftMs: 5 * HOUR });
    expectClean(destroyed);
    expect(stack.state).toEqual([]);
    // Destroy without force: the store opens, with its backups.
    expect((await snapshotsInStore()).length).toBeGreaterThan(0);
  });
});

describe('a store destroyed with force', () => {
  test('keepBackups false and forceDestroy true: destroy deletes every object of the store', async () => {
    const dir = join(PACKAGE_ROOT, 'test', 'provider', 'fixtures', 'force-destroy');
    const stack = new TestStack({
      dir, program: join(dir, 'index.js'), project: 'scw-backup-force-destroy', stack: 'test', secretKeys: ['storePassphrase', 'secretKey'],
      config: { storeUrl: 's3://backups/doomed', s3Endpoint: rig.s3.endpoint, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY, storePassphrase: PASSPHRASE },
    }, {});
    expectClean(await stack.up());
    const objects = async (): Promise<string[]> => {
      const listed = await rig.s3client.send(new ListObjectsV2Command({ Bucket: 'backups', Prefix: 'doomed/' }));
      return (listed.Contents ?? []).map((o) => o.Key ?? '');
    };
    expect(await objects()).toEqual(expect.arrayContaining(['doomed/config']));
    expectClean(await stack.destroy());
    expect(await objects()).toEqual([]);
  });
});

describe('first previews of the other examples', () => {
  test('environment: two stores and five sources pass Check with unknown keys and bucket', async () => {
    const stack = new TestStack(exampleIn(PACKAGE_ROOT, 'environment', {
      project: 'scw-backup-environment', stack: 'production', config: exampleConfig({ secondStoreBucket: 'backups-2' }), secretKeys: ['storePassphrase'],
    }), created());
    const r = await stack.preview();
    expectClean(r);
    expect(opsOf(r, T.store, T.source)).toEqual(['create db', 'create db-second', 'create files', 'create files-second', 'create second-store', 'create store', 'create web']);
  });

  test('a known bad input still fails Check, naming it: a cadence that cannot meet the RPO', async () => {
    const stack = new TestStack(exampleIn(PACKAGE_ROOT, 'single-volume', {
      project: 'scw-backup', stack: 'production', secretKeys: ['storePassphrase'],
      config: exampleConfig({ volumeId: '00000000-0000-4000-8000-0000000000aa', cadence: '0 */6 * * *' }),
    }), created());
    const r = await stack.preview();
    expect(r.errors).toEqual(['urn:pulumi:production::scw-backup::pulumi-nodejs:dynamic/scw-backup:BackupSource::volume: cadence: '
      + 'cadence: runs "0 */6 * * *" (up to 6h apart) cannot meet the RPO 4h: run at least every 4h, or lengthen the schedule']);
  });
});

describe('restore-drill', () => {
  let stack: TestStack;
  let volumeId: string;
  beforeAll(async () => {
    const volume = await rig.emulator.createVolume({ name: 'pg-data', size: 4 * MiB, bytes: prng(172)(MiB) });
    volumeId = volume.id;
    stack = new TestStack(exampleIn(PACKAGE_ROOT, 'restore-drill', {
      project: 'scw-backup-restore-drill', stack: 'drill',
      config: exampleConfig({ volumeId, volumeName: 'pg-data', storePrefix: 'drill', drillRunId: '2026-11' }), secretKeys: ['storePassphrase'],
    }), created());
  });

  test('first preview with unknowns, then up: a backup, a restored volume, a verified drill', async () => {
    const preview = await stack.preview();
    expectClean(preview);
    expect(opsOf(preview, T.restore, T.drill)).toEqual(['create pg-data-drill', 'create pg-data-verify']);
    expect(stepOf(preview, T.restore).unknownInputs).toEqual(['source']);
    const r = await stack.up();
    expectClean(r);
    const restored = stack.state.find((s) => s.type === T.restore)?.outputs as { volumeIds: string[] };
    expect(rig.emulator.volumeInfo(restored.volumeIds[0]).name).toBe('pg-data-drill');
    expect(stack.state.find((s) => s.type === T.drill)?.outputs).toMatchObject({ verifiedBytes: 4 * MiB, runId: '2026-11', result: 'passed' });
    expect(opsOf(await stack.preview(), T.restore, T.drill)).toEqual(['same pg-data-drill', 'same pg-data-verify']);
  });

  test('the drill is recorded in the store; a refresh shows it on the source, and the preview stays clean', async () => {
    const drill = stack.state.find((s) => s.type === T.drill)?.outputs as { drillId: string; rtoSeconds: number; started: string };
    const store = { url: 's3://backups/drill', passphrase: PASSPHRASE, s3: { endpoint: rig.s3.endpoint, region: rig.s3.region, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY } };
    const records = (await withStore(store, (repo) => listDrills(repo))).drills;
    expect(records.map((d) => [d.id, d.result, d.rtoSeconds, d.started])).toEqual([[drill.drillId, 'passed', drill.rtoSeconds, drill.started]]);
    // The source was read before the drill ran (the drill depends on it): a refresh brings the drill in.
    const source = (): PropertyMap => stack.state.find((s) => s.type === T.source)?.outputs as PropertyMap;
    expect(source()).toMatchObject({ lastDrillResult: 'missing' });
    expectClean(await stack.refresh());
    expect(source()).toMatchObject({ rpoMet: true, lastDrillResult: 'passed', lastDrillId: drill.drillId, lastDrillRtoSeconds: drill.rtoSeconds, lastDrillTime: drill.started });
    expect(opsOf(await stack.preview(), T.source, T.restore, T.drill)).toEqual(['same pg-data', 'same pg-data-drill', 'same pg-data-verify']);
  });

  test('key rotation preview updates the restore and the drill in place: nothing restored again', async () => {
    const r = await stack.preview({ replacing: [`${T.apiKey}::backup-key`] });
    expectClean(r);
    expect(opsOf(r, T.restore, T.drill)).toEqual(['update pg-data-drill', 'update pg-data-verify']);
  });

  test('destroy deletes the restored volume (deleteOnDestroy) and never the source', async () => {
    const restored = stack.state.find((s) => s.type === T.restore)?.outputs as { volumeIds: string[] };
    expectClean(await stack.destroy());
    expect(() => rig.emulator.volumeInfo(restored.volumeIds[0])).toThrow();
    expect(rig.emulator.volumeInfo(volumeId).status).toBe('available');
  });
});
