/**
 * The Pulumi example programs (examples/pulumi/) under pulumi.runtime.setMocks: each is loaded with
 * its stack config, as `pulumi up` would, and the resource graph it registers is checked: types and
 * counts, the IAM permission sets, the staging bucket's lifecycle rules, the BackupSource inputs the
 * policy table gives, and that the passphrase and the secret key reach every resource only as secrets.
 * pulumi-mocks.ts records the serialized request (secrets still wrapped) and the options newResource
 * is not given.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as provider from 'scw-backup/provider';
import {
  BASE_PERMISSION_SETS, FAKE_ACCESS_KEY, FAKE_API_KEY_STATE, FAKE_SECRET_KEY, PROJECT_ID, SECRET,
  installMocks, value, type PulumiMocks, type Registered,
} from './pulumi-mocks';

// Serializing the dynamic providers (closures of provider/dynamic/*.ts) takes seconds.
jest.setTimeout(120_000);

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'pulumi');
const VOLUME_ID = '22222222-3333-4444-5555-666666666666';
const PASSPHRASE = 'example store passphrase, never in plain state';
const T = {
  bucket: 'scaleway:object/bucket:Bucket',
  application: 'scaleway:iam/application:Application',
  policy: 'scaleway:iam/policy:Policy',
  apiKey: 'scaleway:iam/apiKey:ApiKey',
  staging: 'scw-backup:index:StagingBucket',
  identity: 'scw-backup:index:BackupIdentity',
  // pulumi.dynamic.Resource registers `pulumi-nodejs:dynamic/<module>:<type>`.
  store: 'pulumi-nodejs:dynamic/scw-backup:BackupStore',
  source: 'pulumi-nodejs:dynamic/scw-backup:BackupSource',
  restore: 'pulumi-nodejs:dynamic/scw-backup:Restore',
  drill: 'pulumi-nodejs:dynamic/scw-backup:RestoreDrill',
} as const;

/** The program being run, as the mocks record it. */
let mocks: PulumiMocks;
const record = (name: string): Registered => mocks.record(name);
const ofType = (type: string): Array<[string, Registered]> => mocks.ofType(type);

/** Fake outputs of the resources that have computed ones. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case T.bucket: return { name: inputs.name ?? `${name}-0a1b2c` };
    case T.apiKey: return FAKE_API_KEY_STATE;
    case T.store: return { snapshotCount: 0, adopted: false };
    case T.source: return { location: `scaleway://${String(inputs.resourceId)}`, lastSnapshotId: `snap-${name}`, snapshotCount: 1, status: 'ok', rpoMet: true, lastDrillResult: 'missing' };
    case T.restore: return { snapshotId: 'snap-restored', volumeIds: ['33333333-4444-5555-6666-777777777777'], durationMs: 4321 };
    case T.drill: return { snapshotId: 'snap-drilled', rtoMs: 1234, rtoSeconds: 1.234, verifiedBytes: 4096, chunks: 1, drillId: 'drill-1', result: 'passed' };
    default: return {};
  }
}

/** The project name of an example's Pulumi.yaml: `new pulumi.Config()` reads `<project>:<key>`. */
function projectOf(example: string): string {
  const name = /^name:\s*(\S+)\s*$/m.exec(readFileSync(join(EXAMPLES, example, 'Pulumi.yaml'), 'utf8'))?.[1];
  if (name === undefined) throw new Error(`examples/pulumi/${example}/Pulumi.yaml has no name`);
  return name;
}

/**
 * Runs an example program under fresh mocks with `config` (keys without the project prefix), waits
 * for its exports and for every registration to be answered, and returns the program's module.
 */
async function runExample(example: string, config: Record<string, string>, secretKeys: string[]): Promise<Record<string, unknown>> {
  mocks = await installMocks({
    project: projectOf(example), stack: 'production', config, secretKeys,
    newResourceState: (args) => fakeState(args.type, args.name, args.inputs as Record<string, unknown>),
  });
  return mocks.run(join(EXAMPLES, example), { 'scw-backup/provider': provider });
}

/** Every export resolved, with whether it is secret: nothing secret may be exported in plain. */
async function exportedValues(program: Record<string, unknown>): Promise<Record<string, { value: unknown; secret: boolean }>> {
  const out: Record<string, { value: unknown; secret: boolean }> = {};
  for (const [k, v] of Object.entries(program)) {
    const o = pulumi.output(v);
    out[k] = { value: await value(o), secret: await pulumi.isSecret(o) };
  }
  return out;
}

function expectNoSecretsInPlain(exports: Record<string, { value: unknown; secret: boolean }>): void {
  for (const [k, { value: v, secret }] of Object.entries(exports)) {
    if (secret) continue;
    const text = JSON.stringify(v) ?? '';
    expect({ [k]: text.includes(PASSPHRASE) || text.includes(FAKE_SECRET_KEY) }).toEqual({ [k]: false });
  }
}

/** `store` / `scaleway` / `source` as the engine receives them: one secret, holding the secrets. */
function expectSecretInput(r: Registered, input: string): void {
  expect(r.serialized[input]).toMatchObject(SECRET);
  expect(r.additionalSecretOutputs).toContain(input);
}

function expectStagingBucket(region: string): void {
  expect(ofType(T.staging).map(([n]) => n)).toEqual(['staging']);
  const bucket = record('staging-bucket');
  expect(bucket.type).toBe(T.bucket);
  expect(bucket.inputs).toMatchObject({ region, projectId: PROJECT_ID, versioning: { enabled: false }, forceDestroy: false });
  expect(bucket.inputs.lifecycleRules).toEqual([
    { id: 'expire-leftover-exports', enabled: true, expiration: { days: 1 } },
    { id: 'abort-incomplete-uploads', enabled: true, abortIncompleteMultipartUploadDays: 1 },
  ]);
}

/** The rules of the one IAM policy the program declares. */
function permissionSets(): unknown {
  const policies = ofType(T.policy);
  expect(policies).toHaveLength(1);
  return policies[0][1].inputs.rules;
}

it.each(['single-volume', 'environment', 'restore-drill'])('examples/pulumi/%s/Pulumi.yaml names its entry point', (example) => {
  // Without `main`, Pulumi would run the repository package's "exports" entry (the engine) instead.
  expect(readFileSync(join(EXAMPLES, example, 'Pulumi.yaml'), 'utf8')).toMatch(/^main: index\.ts$/m);
});

describe('examples/pulumi/single-volume', () => {
  let program: Record<string, unknown>;
  beforeAll(async () => {
    program = await runExample('single-volume', {
      volumeId: VOLUME_ID, projectId: PROJECT_ID, storeBucket: 'acme-backups', storePassphrase: PASSPHRASE,
    }, ['storePassphrase']);
  });

  it('runs under the root Pulumi.yaml\'s project and main', () => {
    const root = readFileSync(join(__dirname, '..', '..', 'Pulumi.yaml'), 'utf8');
    expect(root).toMatch(/^name: scw-backup$/m);
    expect(root).toMatch(/^main: examples\/pulumi\/single-volume\/?$/m);
    expect(projectOf('single-volume')).toBe('scw-backup');
  });

  it('registers a staging bucket, an identity without Instance rights, a store and one source', () => {
    const counts = (type: string): number => ofType(type).length;
    expect([T.staging, T.bucket, T.identity, T.application, T.policy, T.apiKey, T.store, T.source, T.restore].map(counts))
      .toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expectStagingBucket('fr-par');
    expect(permissionSets()).toEqual([{ projectIds: [PROJECT_ID], permissionSetNames: BASE_PERMISSION_SETS }]);
  });

  it('backs the volume up by the production/critical policy into s3://<store bucket>/<stack>', () => {
    const source = record('volume');
    expect(source.type).toBe(T.source);
    expect(source.inputs).toMatchObject({
      kind: 'volume', zone: 'fr-par-1', resourceId: VOLUME_ID, bucket: 'staging-bucket-0a1b2c',
      environment: 'production', dataClass: 'critical', schedule: '4h', retention: { daily: 7, weekly: 4, monthly: 12 },
      // The workflow's hourly `pulumi up`; the URN Diff files its reasons under.
      cadence: '0 * * * *', resourceUrn: 'urn:pulumi:production::scw-backup::pulumi-nodejs:dynamic/scw-backup:BackupSource::volume',
      store: {
        url: 's3://acme-backups/production', passphrase: PASSPHRASE,
        s3: { region: 'fr-par', accessKey: FAKE_ACCESS_KEY, secretKey: FAKE_SECRET_KEY },
      },
      scaleway: { accessKey: FAKE_ACCESS_KEY, secretKey: FAKE_SECRET_KEY, projectId: PROJECT_ID },
    });
    expect(typeof source.inputs.__provider).toBe('string');
    expect(record('store').inputs.store).toEqual(source.inputs.store);
  });

  it('passes the passphrase and the secret key only as secrets, and exports neither', async () => {
    expectSecretInput(record('store'), 'store');
    expectSecretInput(record('volume'), 'store');
    expectSecretInput(record('volume'), 'scaleway');
    const exports = await exportedValues(program);
    expect(Object.keys(exports).sort()).toEqual(['accessKey', 'lastDrillResult', 'lastSnapshotId', 'rpoDeadline', 'rpoMet', 'stagingBucket', 'status']);
    expect(exports).toMatchObject({
      lastSnapshotId: { value: 'snap-volume' }, status: { value: 'ok' }, rpoMet: { value: true }, lastDrillResult: { value: 'missing' },
      stagingBucket: { value: 'staging-bucket-0a1b2c' }, accessKey: { value: FAKE_ACCESS_KEY, secret: false },
    });
    expectNoSecretsInPlain(exports);
  });
});

describe('examples/pulumi/environment', () => {
  let program: Record<string, unknown>;
  beforeAll(async () => {
    program = await runExample('environment', {
      projectId: PROJECT_ID, zone: 'nl-ams-1', storeBucket: 'acme-backups', secondStoreBucket: 'acme-backups-2',
      storePassphrase: PASSPHRASE,
    }, ['storePassphrase']);
  });

  it('registers one staging bucket, one identity with Instance rights and two stores', () => {
    expect(ofType(T.identity)).toHaveLength(1);
    expect(ofType(T.policy)).toHaveLength(1);
    expect(ofType(T.bucket)).toHaveLength(1);
    expectStagingBucket('nl-ams');
    expect(permissionSets()).toEqual([{ projectIds: [PROJECT_ID], permissionSetNames: [...BASE_PERMISSION_SETS, 'InstancesFullAccess'] }]);
    const stores = Object.fromEntries(ofType(T.store).map(([n, r]) => [n, (r.inputs.store as { url: string; s3: unknown }).s3]));
    expect(stores).toEqual({
      store: { region: 'nl-ams', accessKey: FAKE_ACCESS_KEY, secretKey: FAKE_SECRET_KEY },
      // The second store defaults to another region: another site, for 3-2-1.
      'second-store': { region: 'fr-par', accessKey: FAKE_ACCESS_KEY, secretKey: FAKE_SECRET_KEY },
    });
  });

  it('backs up each default Instance by its class\'s policy, and twice where the policy says so', () => {
    const sources = Object.fromEntries(ofType(T.source).map(([n, r]) => [n, r.inputs]));
    // 3 Instances into the primary store; database and pii (copyToSecondStore) into the second too.
    expect(Object.keys(sources).sort()).toEqual(['db', 'db-second', 'files', 'files-second', 'web']);
    const expected: Record<string, [string, string, Record<string, number>]> = {
      web: ['standard', '24h', { daily: 7, weekly: 4 }],
      db: ['database', '4h', { daily: 7, weekly: 4, monthly: 12 }],
      files: ['pii', '4h', { daily: 7, weekly: 4 }],
    };
    for (const [name, inputs] of Object.entries(sources)) {
      const instance = name.replace(/-second$/, '');
      const [dataClass, schedule, retention] = expected[instance];
      expect({ name, ...inputs }).toMatchObject({
        name, kind: 'instance', zone: 'nl-ams-1', bucket: 'staging-bucket-0a1b2c', environment: 'production',
        dataClass, schedule, retention, tags: { instance },
      });
      expect((inputs.resourceId as string)).toMatch(/^00000000-0000-4000-8000-00000000000[123]$/);
      const url = (inputs.store as { url: string }).url;
      expect({ name, url }).toEqual({ name, url: name.endsWith('-second') ? 's3://acme-backups-2/production' : 's3://acme-backups/production' });
    }
    expect(sources['db-second'].stagingPrefix).toBe('scw-backup-second');
    expect(sources.db.stagingPrefix).toBeUndefined();
    expect(sources['db-second'].resourceId).toBe(sources.db.resourceId);
  });

  it('passes the passphrase and the secret key only as secrets, and exports neither', async () => {
    for (const [, r] of ofType(T.store)) expectSecretInput(r, 'store');
    for (const [, r] of ofType(T.source)) {
      expectSecretInput(r, 'store');
      expectSecretInput(r, 'scaleway');
    }
    const exports = await exportedValues(program);
    const fine = { status: 'ok', rpoMet: true, lastDrillResult: 'missing' };
    expect(exports.backups.value).toEqual({
      web: { ...fine, lastSnapshotId: 'snap-web' }, db: { ...fine, lastSnapshotId: 'snap-db' },
      'db-second': { ...fine, lastSnapshotId: 'snap-db-second' }, files: { ...fine, lastSnapshotId: 'snap-files' },
      'files-second': { ...fine, lastSnapshotId: 'snap-files-second' },
    });
    expectNoSecretsInPlain(exports);
  });
});

describe('examples/pulumi/restore-drill', () => {
  let program: Record<string, unknown>;
  beforeAll(async () => {
    program = await runExample('restore-drill', {
      volumeId: VOLUME_ID, volumeName: 'pg-data', projectId: PROJECT_ID, storeBucket: 'acme-backups', storePassphrase: PASSPHRASE,
    }, ['storePassphrase']);
  });

  it('backs up the volume and restores its latest snapshot as <name>-drill, deleted with the stack', () => {
    expect(ofType(T.source).map(([n]) => n)).toEqual(['pg-data']);
    expect(ofType(T.restore).map(([n]) => n)).toEqual(['pg-data-drill']);
    expect(permissionSets()).toEqual([{ projectIds: [PROJECT_ID], permissionSetNames: BASE_PERMISSION_SETS }]);
    const source = record('pg-data').inputs;
    const restore = record('pg-data-drill').inputs;
    expect(restore).toMatchObject({ snapshot: 'latest', name: 'pg-data-drill', deleteOnDestroy: true });
    expect(restore.source).toEqual({
      kind: 'volume', zone: 'fr-par-1', resourceId: VOLUME_ID, bucket: source.bucket, store: source.store, scaleway: source.scaleway,
    });
  });

  it('runs a RestoreDrill of the same source each month', () => {
    expect(ofType(T.drill).map(([n]) => n)).toEqual(['pg-data-verify']);
    const drill = record('pg-data-verify');
    expect(drill.inputs.runId).toMatch(/^\d{4}-\d{2}$/);
    expect(drill.inputs.source).toEqual(record('pg-data-drill').inputs.source);
    expectSecretInput(drill, 'source');
  });

  it('exports the measured RTO and the drill volume, and no secret', async () => {
    expectSecretInput(record('pg-data-drill'), 'source');
    expectSecretInput(record('pg-data'), 'store');
    const exports = await exportedValues(program);
    expect(exports).toMatchObject({
      durationMs: { value: 4321, secret: false },
      drillVolumeIds: { value: ['33333333-4444-5555-6666-777777777777'] },
      restoredSnapshotId: { value: 'snap-restored' },
      verifiedBytes: { value: 4096, secret: false },
      drillId: { value: 'drill-1', secret: false },
      lastSnapshotId: { value: 'snap-pg-data' },
    });
    expectNoSecretsInPlain(exports);
  });
});

describe('examples/pulumi/environment with its Instances from config', () => {
  beforeAll(async () => {
    const instances = [
      { name: 'app', serverId: '44444444-5555-6666-7777-888888888888', dataClass: 'critical' },
      { name: 'cache', serverId: '55555555-6666-7777-8888-999999999999', dataClass: 'standard' },
    ];
    await runExample('environment', {
      projectId: PROJECT_ID, storeBucket: 'acme-backups', secondStoreBucket: 'acme-backups-2',
      storePassphrase: PASSPHRASE, instances: JSON.stringify(instances),
    }, ['storePassphrase']);
  });

  it('backs up the configured Instances instead of the placeholders', () => {
    const sources = Object.fromEntries(ofType(T.source).map(([n, r]) => [n, [r.inputs.resourceId, r.inputs.schedule, (r.inputs.store as { url: string }).url]]));
    expect(sources).toEqual({
      app: ['44444444-5555-6666-7777-888888888888', '4h', 's3://acme-backups/production'],
      'app-second': ['44444444-5555-6666-7777-888888888888', '4h', 's3://acme-backups-2/production'],
      cache: ['55555555-6666-7777-8888-999999999999', '24h', 's3://acme-backups/production'],
    });
    // Default zone fr-par-1: the second store goes to nl-ams.
    expect(ofType(T.store).map(([n, r]) => [n, (r.inputs.store as { s3: { region: string } }).s3.region]))
      .toEqual([['store', 'fr-par'], ['second-store', 'nl-ams']]);
  });
});
