/**
 * The permission sets BackupIdentity grants, held against what the code calls. For each kind of
 * identity (engine/scaleway/permissions.ts) the flows run with an IAM key that holds exactly
 * `permissionSetsFor(needs)`: the emulator enforces them on the Block and Instance APIs, the S3
 * server on the buckets (test/rig/s3-permissions.ts). Every call the flows make (the emulator's and
 * the S3 server's request logs, mapped back to SDK methods and S3 actions) must be listed under that
 * identity's calls, and every granted set must be used by one of them. A key without a set the
 * work needs is refused (the 403 on a restore that attaches).
 */
import { forgetSnapshots, initRepository, listSnapshots, openRepository, type Repository } from '../../../engine';
import {
  CALL_PERMISSIONS, RestoreIncompleteError, backupBlockVolume, backupInstance, callsFor, createScalewayClients, deleteServerAndLocalVolumes,
  permissionSetsFor, resolveScalewayProfile, restoreBlockVolume, restoreInstance, stagingBackend, verifyVolume,
  type EngineCall, type IdentityNeeds, type ScalewayClients,
} from '../../../engine/scaleway';
import { S3Backend, makeS3Client } from '../../../engine/store/backends/s3';
import { realmSafeFetch, type Rig } from '../../emulator/harness';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';
import { startScalewayRig, type ScalewayTestRig } from './scaleway-rig';

const MiB = 1024 * 1024;
const FAST = { default: { minDelayMs: 5, maxDelayMs: 40, timeoutMs: 20_000 } };
const ZONE = 'fr-par-1';

let dir: { path: string; cleanup: () => Promise<void> };
let setup: ScalewayTestRig;
let rig: Rig;

beforeAll(async () => {
  dir = await tempDir('scwb-iam-');
  setup = await startScalewayRig();
  rig = setup.rig;
  await rig.s3.createBucket('iam-store');
});
afterAll(async () => {
  await setup?.stop();
  await dir?.cleanup();
});

/** SDK method of each emulator route the engine uses. */
const Z = '/zones/[^/]+';
const ID = '[0-9a-f-]{36}';
const ROUTES: Array<[string, RegExp, EngineCall]> = [
  ['GET', new RegExp(`^/block/v1${Z}/volumes/${ID}$`), 'block.getVolume'],
  ['GET', new RegExp(`^/block/v1${Z}/volumes$`), 'block.listVolumes'],
  ['POST', new RegExp(`^/block/v1${Z}/volumes$`), 'block.createVolume'],
  ['DELETE', new RegExp(`^/block/v1${Z}/volumes/${ID}$`), 'block.deleteVolume'],
  ['GET', new RegExp(`^/block/v1${Z}/snapshots$`), 'block.listSnapshots'],
  ['GET', new RegExp(`^/block/v1${Z}/snapshots/${ID}$`), 'block.getSnapshot'],
  ['POST', new RegExp(`^/block/v1${Z}/snapshots$`), 'block.createSnapshot'],
  ['POST', new RegExp(`^/block/v1${Z}/snapshots/${ID}/export-to-object-storage$`), 'block.exportSnapshotToObjectStorage'],
  ['POST', new RegExp(`^/block/v1${Z}/snapshots/import-from-object-storage$`), 'block.importSnapshotFromObjectStorage'],
  ['PATCH', new RegExp(`^/block/v1${Z}/snapshots/${ID}$`), 'block.updateSnapshot'],
  ['DELETE', new RegExp(`^/block/v1${Z}/snapshots/${ID}$`), 'block.deleteSnapshot'],
  ['GET', new RegExp(`^/instance/v1${Z}/servers/${ID}$`), 'instance.getServer'],
  ['POST', new RegExp(`^/instance/v1${Z}/servers$`), 'instance.createServer'],
  ['DELETE', new RegExp(`^/instance/v1${Z}/servers/${ID}$`), 'instance.deleteServer'],
  ['POST', new RegExp(`^/instance/v1${Z}/servers/${ID}/action$`), 'instance.serverAction'],
  ['POST', new RegExp(`^/instance/v1${Z}/servers/${ID}/attach-volume$`), 'instance.attachServerVolume'],
  ['POST', new RegExp(`^/instance/v1${Z}/servers/${ID}/detach-volume$`), 'instance.detachServerVolume'],
  ['GET', new RegExp(`^/instance/v1${Z}/volumes/${ID}$`), 'instance.getVolume'],
  ['POST', new RegExp(`^/instance/v1${Z}/volumes$`), 'instance.createVolume'],
  ['DELETE', new RegExp(`^/instance/v1${Z}/volumes/${ID}$`), 'instance.deleteVolume'],
  ['GET', new RegExp(`^/instance/v1${Z}/snapshots$`), 'instance.listSnapshots'],
  ['GET', new RegExp(`^/instance/v1${Z}/snapshots/${ID}$`), 'instance.getSnapshot'],
  ['POST', new RegExp(`^/instance/v1${Z}/snapshots$`), 'instance.createSnapshot'],
  ['POST', new RegExp(`^/instance/v1${Z}/snapshots/${ID}/export$`), 'instance.exportSnapshot'],
  ['PATCH', new RegExp(`^/instance/v1${Z}/snapshots/${ID}$`), 'instance.updateSnapshot'],
  ['DELETE', new RegExp(`^/instance/v1${Z}/snapshots/${ID}$`), 'instance.deleteSnapshot'],
];

interface Identity {
  clients: ScalewayClients;
  staging: S3Backend;
  store: () => Promise<Repository>;
  /** Every call made with this identity's key since it was made, by SDK method or S3 action. */
  calls(): string[];
}

/** An IAM application with exactly `permissionSetsFor(needs)`, its key, and the engine's clients with it. */
async function identity(name: string, needs: IdentityNeeds, storePrefix = name): Promise<Identity> {
  const sets = permissionSetsFor(needs);
  const projectId = rig.emulator.credentials.projectId;
  const app = await rig.iam.createApplication({ name, description: name });
  await rig.iam.createPolicy({ name, description: name, applicationId: app.id, rules: [{ permissionSetNames: [...sets], projectIds: [projectId], condition: '' }] });
  const key = await rig.iam.createAPIKey({ applicationId: app.id, description: name, defaultProjectId: projectId });
  if (!key.secretKey) throw new Error('no secret key');
  rig.s3.addKey(key.accessKey, key.secretKey, sets);
  const profile = resolveScalewayProfile({ accessKey: key.accessKey, secretKey: key.secretKey, projectId, zone: ZONE, apiUrl: rig.emulator.url, env: {} });
  const fromApi = rig.emulator.requests.length;
  const fromS3 = rig.s3.uploads.actions.length;
  // The emulator's log does not say which key made a request: the test makes none of its own meanwhile.
  const apiCalls = (): string[] => rig.emulator.requests.slice(fromApi).filter((q) => !q.path.startsWith('/iam/')).map((q) => {
    const route = ROUTES.find(([m, re]) => m === q.method && re.test(q.path));
    return route ? route[2] : `unmapped ${q.method} ${q.path}`;
  });
  const s3Calls = (): string[] => rig.s3.uploads.actions.slice(fromS3).filter((a) => a.accessKey === key.accessKey).map((a) => `s3:${a.action}`);
  const s3config = { bucket: 'iam-store', prefix: storePrefix, endpoint: rig.s3.endpoint, region: rig.s3.region, accessKeyId: key.accessKey, secretAccessKey: key.secretKey, credentialSource: 'options' };
  return {
    clients: createScalewayClients(profile, { fetch: realmSafeFetch }),
    staging: stagingBackend(profile, rig.bucket, { endpoint: rig.s3.endpoint, env: {}, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
    store: () => openRepository(new S3Backend({ bucket: 'iam-store', prefix: storePrefix, client: makeS3Client(s3config), ownsClient: true, retry: { baseDelayMs: 1, maxDelayMs: 5 } }), PASS),
    calls: () => [...new Set([...apiCalls(), ...s3Calls()])].sort(),
  };
}

/**
 * Every call made is one this identity is granted for, and every set granted was used, but
 * ObjectStorageBucketsRead: only a stat that finds nothing calls HeadBucket (the first test makes one).
 */
function expectExactly(id: Identity, needs: IdentityNeeds): void {
  const made = id.calls();
  const allowed = new Set<string>(callsFor(needs));
  expect(made.filter((c) => !allowed.has(c))).toEqual([]);
  const used = new Set(made.map((c) => CALL_PERMISSIONS[c as EngineCall]));
  const granted = permissionSetsFor(needs).filter((s) => s !== 'ObjectStorageBucketsRead' || made.includes('s3:HeadBucket'));
  expect(granted.filter((s) => !used.has(s))).toEqual([]);
}

/** A store of this identity, made by the test's own (unrestricted) key. */
async function newStore(name: string): Promise<void> {
  const admin = new S3Backend({
    bucket: 'iam-store', prefix: name, ownsClient: true,
    client: makeS3Client({ bucket: 'iam-store', prefix: name, endpoint: rig.s3.endpoint, region: rig.s3.region, accessKeyId: rig.s3.accessKeyId, secretAccessKey: rig.s3.secretAccessKey, credentialSource: 'options' }),
  });
  const repo = await initRepository(admin, PASS, TEST_INIT);
  await repo.backend.close();
}

async function volume(name: string, type: 'sbs_5k' | 'l_ssd' = 'sbs_5k'): Promise<string> {
  return (await rig.emulator.createVolume({ name, size: 4 * MiB, bytes: prng(name.length)(MiB), type })).id;
}

test('the default identity (volumes: back up, verify, apply retention) calls only what its five sets allow, and uses them all', async () => {
  const volumeId = await volume('iam-default');
  await newStore('default');
  const needs: IdentityNeeds = {};
  expect(permissionSetsFor(needs)).toEqual(['BlockStorageFullAccess', 'ObjectStorageBucketsRead', 'ObjectStorageObjectsRead', 'ObjectStorageObjectsWrite', 'ObjectStorageObjectsDelete']);
  const id = await identity('default', needs);
  const repo = await id.store();
  try {
    const b = await backupBlockVolume(repo, id.clients, id.staging, { zone: ZONE, volumeId, bucket: rig.bucket, timeouts: FAST, keepNativeSnapshot: true, workers: 0 });
    await backupBlockVolume(repo, id.clients, id.staging, { zone: ZONE, volumeId, bucket: rig.bucket, timeouts: FAST, workers: 0 });
    const v = await verifyVolume(repo, id.clients, id.staging, { zone: ZONE, volumeId, snapshot: b.snapshot, bucket: rig.bucket, timeouts: FAST });
    expect(v.mismatches).toEqual([]);
    await forgetSnapshots(repo, { policy: { last: 1 } });
    expect((await listSnapshots(repo)).snapshots).toHaveLength(1);
    // A missing export: its stat answers 404, and the backend asks HeadBucket whether the bucket is
    // there (ObjectStorageBucketsRead) to say which is missing.
    expect(await id.staging.stat('scw-backup/no-such-export.qcow2')).toBeUndefined();
    expect(id.calls()).toContain('s3:HeadBucket');
  } finally {
    await repo.backend.close();
    await id.staging.close();
  }
  expectExactly(id, needs);
  await rig.block.deleteSnapshot({ snapshotId: (await rig.block.listSnapshots({ includeDeleted: false, tags: ['scw-backup:kept'] })).snapshots[0].id });
});

test('Instances: the Instance API for local volumes and the server (InstancesFullAccess), nothing more', async () => {
  const boot = await volume('iam-boot');
  const local = await volume('iam-local', 'l_ssd');
  const server = rig.emulator.createServer({ name: 'iam-srv', volumeIds: [boot, local], bootVolumeId: boot });
  await newStore('instances');
  const needs: IdentityNeeds = { instances: true };
  const id = await identity('instances', needs);
  const repo = await id.store();
  try {
    const r = await backupInstance(repo, id.clients, id.staging, { zone: ZONE, serverId: server.id, bucket: rig.bucket, timeouts: FAST, workers: 0 });
    expect(r.volumes).toHaveLength(2);
  } finally {
    await repo.backend.close();
    await id.staging.close();
  }
  expectExactly(id, needs);
});

test('restores that attach and swap need InstancesFullAccess: refused without it (403), done with it', async () => {
  const volumeId = await volume('iam-restore-src');
  const current = await volume('iam-restore-old');
  const server = rig.emulator.createServer({ name: 'iam-target', volumeIds: [current] });
  await newStore('restores');
  const seed = await identity('restores-seed', {}, 'restores');
  let repo = await seed.store();
  const b = await backupBlockVolume(repo, seed.clients, seed.staging, { zone: ZONE, volumeId, bucket: rig.bucket, timeouts: FAST, workers: 0 });
  await repo.backend.close();
  await seed.staging.close();

  // The old BackupIdentity's sets (Block Storage and Object Storage only): the attach is refused.
  const without = await identity('restores-volumes-only', { restores: true }, 'restores');
  repo = await without.store();
  const refused = await restoreBlockVolume(repo, without.clients, without.staging, {
    snapshot: b.snapshot, zone: ZONE, bucket: rig.bucket, attachToServerId: server.id, replaceVolumeId: current, timeouts: FAST,
  }).catch((e: unknown) => e);
  await repo.backend.close();
  await without.staging.close();
  expect(refused).toBeInstanceOf(RestoreIncompleteError);
  expect((refused as Error).message).toMatch(/insufficient permissions/);
  await rig.block.deleteVolume({ volumeId: (refused as RestoreIncompleteError).volumeId });

  const needs: IdentityNeeds = { restores: 'attach' };
  expect(permissionSetsFor(needs)).toContain('InstancesFullAccess');
  const id = await identity('restores-attach', needs, 'restores');
  repo = await id.store();
  try {
    const r = await restoreBlockVolume(repo, id.clients, id.staging, {
      snapshot: b.snapshot, zone: ZONE, bucket: rig.bucket, attachToServerId: server.id, replaceVolumeId: current, timeouts: FAST,
    });
    expect(r).toMatchObject({ attachedTo: server.id, replaced: current });
  } finally {
    await repo.backend.close();
    await id.staging.close();
  }
  expectExactly(id, { ...needs, restores: 'attach' });
});

test('whole-Instance restores and the deletion of the restored server stay within their calls', async () => {
  const boot = await volume('iam-grp-boot');
  const local = await volume('iam-grp-local', 'l_ssd');
  const server = rig.emulator.createServer({ name: 'iam-grp', volumeIds: [boot, local], bootVolumeId: boot });
  await newStore('grp');
  const seed = await identity('grp-seed', { instances: true }, 'grp');
  let repo = await seed.store();
  const b = await backupInstance(repo, seed.clients, seed.staging, { zone: ZONE, serverId: server.id, bucket: rig.bucket, timeouts: FAST, workers: 0 });
  await repo.backend.close();
  await seed.staging.close();

  const needs: IdentityNeeds = { restores: 'instances' };
  const id = await identity('grp-restore', needs, 'grp');
  repo = await id.store();
  try {
    const r = await restoreInstance(repo, id.clients, id.staging, { group: b.group, zone: ZONE, bucket: rig.bucket, newServerName: 'iam-grp-2', timeouts: FAST });
    await deleteServerAndLocalVolumes(id.clients, ZONE, r.serverId, FAST);
    for (const v of r.volumes.filter((x) => x.volumeType === 'sbs_volume')) await id.clients.block.deleteVolume({ zone: ZONE, volumeId: v.volumeId });
  } finally {
    await repo.backend.close();
    await id.staging.close();
  }
  const made = id.calls();
  const allowed = new Set<string>(callsFor(needs));
  expect(made.filter((c) => !allowed.has(c))).toEqual([]);
});

test('the direct-attach path needs InstancesFullAccess (attach and detach on this Instance) and stays within its calls', async () => {
  const volumeId = await volume('iam-attach');
  const runner = rig.emulator.createServer({ name: 'iam-runner', state: 'running' });
  rig.emulator.setLocalServer(runner.id);
  await newStore('attach');
  const needs: IdentityNeeds = { directAttach: true };
  expect(permissionSetsFor(needs)).toContain('InstancesFullAccess');
  const id = await identity('attach', needs);
  const repo = await id.store();
  try {
    const attach = { url: rig.emulator.metadataUrl, deviceDir: rig.emulator.deviceDir };
    const b = await backupBlockVolume(repo, id.clients, id.staging, { zone: ZONE, volumeId, bucket: rig.bucket, timeouts: FAST, workers: 0, via: 'attach', attach });
    const r = await restoreBlockVolume(repo, id.clients, id.staging, { snapshot: b.snapshot, zone: ZONE, bucket: rig.bucket, timeouts: FAST, via: 'attach', attach });
    await id.clients.block.deleteVolume({ zone: ZONE, volumeId: r.volumeId });
  } finally {
    rig.emulator.setLocalServer(undefined);
    await repo.backend.close();
    await id.staging.close();
  }
  const made = id.calls();
  expect(made.filter((c) => !new Set<string>(callsFor(needs)).has(c))).toEqual([]);
  expect(made).toEqual(expect.arrayContaining(['instance.attachServerVolume', 'instance.detachServerVolume']));
});

test('a key without delete rights backs up: its staging object and lock file stay, said as warnings; it cannot delete a snapshot', async () => {
  const volumeId = await volume('iam-nodelete');
  await newStore('nodelete');
  const needs: IdentityNeeds = { deletes: false };
  expect(permissionSetsFor(needs)).not.toContain('ObjectStorageObjectsDelete');
  const id = await identity('nodelete', needs);
  const repo = await id.store();
  const warnings: string[] = [];
  try {
    const b = await backupBlockVolume(repo, id.clients, id.staging, { zone: ZONE, volumeId, bucket: rig.bucket, timeouts: FAST, workers: 0, onWarning: (w) => warnings.push(w) });
    expect(b.cleanup.failed.map((f) => f.what)).toEqual([`s3://${rig.bucket}/${b.stagingKey}`]);
    expect(b.cleanup.removed).toEqual([`snapshot ${b.nativeSnapshotId}`]);
    expect(warnings.join('\n')).toMatch(/could not remove s3:\/\/\S+: cannot delete .* \(AccessDenied\)/);
    expect(warnings.join('\n')).toMatch(/the store refused to delete our lock file\(s\) locks\/[0-9a-f]{64}/);
    expect((await listSnapshots(repo)).snapshots).toHaveLength(1);
    await expect(forgetSnapshots(repo, { policy: { last: 0 } })).rejects.toThrow();
  } finally {
    await repo.backend.close();
    await id.staging.close();
  }
  expect(await setup.bucketKeys()).toEqual([expect.stringMatching(/^scw-backup\//)]);
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  for (const key of await setup.bucketKeys()) await rig.s3client.send(new DeleteObjectCommand({ Bucket: rig.bucket, Key: key }));
});
