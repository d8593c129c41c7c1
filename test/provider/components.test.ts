/**
 * The components under pulumi.runtime.setMocks: which resources they register, with which inputs,
 * parents, dependencies and secret outputs, as pulumi-mocks.ts records them (it wraps the mock
 * monitor to see the options newResource is not given: additionalSecretOutputs, parent, dependencies).
 */
import * as pulumi from '@pulumi/pulumi';
import { InvalidInputError } from '../../engine';
import {
  BackupIdentity, StagingBucket, StoreBucket, mergePolicy, policyFor, type BackupIdentityArgs, type PolicyDefaults,
} from '../../provider/components';
import {
  BASE_PERMISSION_SETS, FAKE_ACCESS_KEY, FAKE_API_KEY_STATE, FAKE_SECRET_KEY, PROJECT_ID, SECRET,
  installMocks, thrownBy, tick, value, type PulumiMocks, type Registered,
} from './pulumi-mocks';

jest.setTimeout(60_000);

const ORG = '99999999-8888-7777-6666-555555555555';

let mocks: PulumiMocks;
const record = (name: string): Registered => mocks.record(name);

beforeAll(async () => {
  mocks = await installMocks({
    newResourceState: (args) => (args.type === 'scaleway:iam/apiKey:ApiKey' ? FAKE_API_KEY_STATE : {}),
  });
});

describe('StagingBucket', () => {
  it('registers one unversioned bucket under the component, with both lifecycle rules', async () => {
    const staging = new StagingBucket('stg', { name: 'scwb-staging', region: 'nl-ams', projectId: PROJECT_ID, tags: { team: 'ops' } });
    const [urn] = await Promise.all([value(staging.urn), value(staging.bucket.urn)]);

    expect(record('stg').type).toBe('scw-backup:index:StagingBucket');
    const bucket = record('stg-bucket');
    expect(bucket.type).toBe('scaleway:object/bucket:Bucket');
    expect(bucket.parent).toBe(urn);
    expect(bucket.inputs).toMatchObject({
      name: 'scwb-staging', region: 'nl-ams', projectId: PROJECT_ID, forceDestroy: false,
      versioning: { enabled: false }, tags: { team: 'ops' },
    });
    expect(bucket.inputs.lifecycleRules).toEqual([
      { id: 'expire-leftover-exports', enabled: true, expiration: { days: 1 } },
      { id: 'abort-incomplete-uploads', enabled: true, abortIncompleteMultipartUploadDays: 1 },
    ]);

    expect(await value(staging.bucketName)).toBe('scwb-staging');
    expect(await value(staging.region)).toBe('nl-ams');
    expect(await value(staging.endpoint)).toBe('https://s3.nl-ams.scw.cloud');
  });

  it('expires after the days asked for, and force-destroys only when asked', async () => {
    const staging = new StagingBucket('stg7', { region: 'pl-waw', expireAfterDays: 7, forceDestroy: true });
    await value(staging.bucket.urn);
    const { inputs } = record('stg7-bucket');
    expect(inputs.forceDestroy).toBe(true);
    expect(inputs.versioning).toEqual({ enabled: false });
    const rules = inputs.lifecycleRules as Array<Record<string, unknown>>;
    expect(rules.map((r) => r.expiration)).toContainEqual({ days: 7 });
    expect(rules.map((r) => r.abortIncompleteMultipartUploadDays)).toContain(7);
    expect(rules.every((r) => r.enabled === true && r.prefix === undefined)).toBe(true);
  });

  it.each([
    ['region', { region: 'us-east-1' }, /region: "us-east-1" is not a Scaleway Object Storage region.*fr-par, nl-ams, pl-waw/],
    ['region', { region: 'fr-par-1' }, /region: "fr-par-1"/],
    ['expireAfterDays', { region: 'fr-par', expireAfterDays: 0 }, /expireAfterDays: 0 is not a whole number of days from 1 to 365/],
    ['expireAfterDays', { region: 'fr-par', expireAfterDays: 366 }, /expireAfterDays: 366/],
    ['expireAfterDays', { region: 'fr-par', expireAfterDays: 1.5 }, /expireAfterDays: 1.5/],
    ['name', { region: 'fr-par', name: 'Bad_Bucket' }, /name: "Bad_Bucket" is not a valid bucket name/],
  ])('rejects a bad %s synchronously, registering nothing', async (input, args, message) => {
    const name = `bad-${mocks.registered.size}`;
    const thrown = thrownBy(() => new StagingBucket(name, args));
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect((thrown as InvalidInputError).input).toBe(input);
    expect((thrown as InvalidInputError).code).toBe('INVALID_INPUT');
    expect((thrown as Error).message).toMatch(message);
    await tick();
    expect(mocks.registered.has(name)).toBe(false);
    expect(mocks.registered.has(`${name}-bucket`)).toBe(false);
  });
});

describe('StoreBucket', () => {
  it('without lockDays: one protected, unversioned bucket, no lock configuration; url names the prefix', async () => {
    const sb = new StoreBucket('plain-store', { name: 'scwb-store', region: 'fr-par', projectId: PROJECT_ID, prefix: 'prod' });
    await value(sb.bucket.urn);
    expect(record('plain-store-bucket').inputs).toMatchObject({ name: 'scwb-store', region: 'fr-par', forceDestroy: false, objectLockEnabled: false, versioning: { enabled: false } });
    expect(mocks.registered.has('plain-store-lock')).toBe(false);
    expect(sb.lock).toBeUndefined();
    expect(await value(sb.url)).toBe('s3://scwb-store/prod');
  });

  it('with lockDays: Object Lock and versioning on, default retention in GOVERNANCE unless told', async () => {
    const sb = new StoreBucket('locked-store', { name: 'scwb-locked', region: 'pl-waw', projectId: PROJECT_ID, lockDays: 30 });
    await Promise.all([value(sb.bucket.urn), value((sb.lock as NonNullable<typeof sb.lock>).urn)]);
    expect(record('locked-store-bucket').inputs).toMatchObject({ objectLockEnabled: true, versioning: { enabled: true } });
    const lock = record('locked-store-lock');
    expect(lock.type).toBe('scaleway:object/bucketLockConfiguration:BucketLockConfiguration');
    expect(lock.inputs).toMatchObject({ bucket: 'scwb-locked', region: 'pl-waw', rule: { defaultRetention: { mode: 'GOVERNANCE', days: 30 } } });
    const strict = new StoreBucket('strict-store', { name: 'scwb-strict', region: 'fr-par', lockDays: 7, lockMode: 'COMPLIANCE' });
    await value((strict.lock as NonNullable<typeof strict.lock>).urn);
    expect(record('strict-store-lock').inputs).toMatchObject({ rule: { defaultRetention: { mode: 'COMPLIANCE', days: 7 } } });
    expect(await value(strict.url)).toBe('s3://scwb-strict/scw-backup');
  });

  it('refuses a bad region, prefix or lockDays, naming the input', () => {
    expect(() => new StoreBucket('bad1', { region: 'us-east-1' })).toThrow(/^region: "us-east-1" is not one of fr-par, nl-ams, pl-waw/);
    expect(() => new StoreBucket('bad2', { region: 'fr-par', prefix: 'a/../b' })).toThrow(/^prefix: /);
    expect(() => new StoreBucket('bad3', { region: 'fr-par', lockDays: 0 })).toThrow(/^lockDays: 0 is not a whole number of days/);
  });
});

describe('BackupIdentity', () => {
  it('registers application, policy and API key under the component, scoped to the project', async () => {
    const id = new BackupIdentity('bk', { name: 'scw-backup', projectId: PROJECT_ID, organizationId: ORG });
    const [urn, , policyUrn] = await Promise.all([value(id.urn), value(id.application.urn), value(id.policy.urn), value(id.apiKey.urn)]);

    expect(record('bk').type).toBe('scw-backup:index:BackupIdentity');
    const app = record('bk-app');
    const policy = record('bk-policy');
    const key = record('bk-key');
    expect([app.type, policy.type, key.type]).toEqual([
      'scaleway:iam/application:Application', 'scaleway:iam/policy:Policy', 'scaleway:iam/apiKey:ApiKey',
    ]);
    expect([app.parent, policy.parent, key.parent]).toEqual([urn, urn, urn]);
    expect(app.inputs).toMatchObject({ name: 'scw-backup', organizationId: ORG });
    expect(policy.inputs).toMatchObject({ applicationId: 'bk-app_id', organizationId: ORG });
    expect(policy.inputs.rules).toEqual([{ projectIds: [PROJECT_ID], permissionSetNames: BASE_PERMISSION_SETS }]);
    expect(key.inputs).toMatchObject({ applicationId: 'bk-app_id', defaultProjectId: PROJECT_ID });
    expect(key.dependencies).toContain(policyUrn);

    expect(await value(id.applicationId)).toBe('bk-app_id');
    expect(await value(id.accessKey)).toBe(FAKE_ACCESS_KEY);
  });

  it('adds InstancesFullAccess only when instances is true', async () => {
    const id = new BackupIdentity('bki', { name: 'scw-backup-vms', projectId: pulumi.output(PROJECT_ID), instances: true });
    await value(id.policy.urn);
    expect(record('bki-policy').inputs.rules).toEqual([
      { projectIds: [PROJECT_ID], permissionSetNames: [...BASE_PERMISSION_SETS, 'InstancesFullAccess'] },
    ]);
  });

  it('grants what the work it is given calls (engine/scaleway/permissions.ts): never BucketsWrite; no delete when told', async () => {
    const sets = async (n: string, extra: Partial<BackupIdentityArgs>): Promise<unknown> => {
      const id = new BackupIdentity(n, { name: n, projectId: PROJECT_ID, ...extra });
      await value(id.policy.urn);
      return (record(`${n}-policy`).inputs.rules as Array<{ permissionSetNames: string[] }>)[0].permissionSetNames;
    };
    expect(await sets('plain', {})).not.toContain('ObjectStorageBucketsWrite');
    // Restores that attach or swap call the Instance API (attachServerVolume, detachServerVolume).
    expect(await sets('attach', { restores: 'attach' })).toEqual([...BASE_PERMISSION_SETS, 'InstancesFullAccess']);
    expect(await sets('vols', { restores: true })).toEqual(BASE_PERMISSION_SETS);
    expect(await sets('nodel', { deletes: false })).toEqual(BASE_PERMISSION_SETS.filter((p) => p !== 'ObjectStorageObjectsDelete'));
    expect((thrownBy(() => new BackupIdentity('bad', { name: 'bad', projectId: PROJECT_ID, maintenance: true, deletes: false })) as Error).message)
      .toMatch(/^deletes: false cannot go with maintenance: forget and prune delete from the store/);
  });

  it('keeps the secret key secret: output, component state and the ApiKey registration', async () => {
    const id = new BackupIdentity('bks', { name: 'scw-backup-s', projectId: PROJECT_ID });
    const urn = await value(id.urn);
    await value(id.apiKey.urn);

    expect(await pulumi.isSecret(id.secretKey)).toBe(true);
    expect(await pulumi.isSecret(id.accessKey)).toBe(false);
    expect(await value(pulumi.unsecret(id.secretKey))).toBe(FAKE_SECRET_KEY);
    expect(record('bks-key').additionalSecretOutputs).toContain('secretKey');

    // registerOutputs runs once the outputs resolve: wait for it, then look at what state receives.
    for (let i = 0; i < 100 && !mocks.componentOutputs.has(urn); i++) await tick();
    const outputs = mocks.componentOutputs.get(urn);
    expect(outputs?.accessKey).toBe(FAKE_ACCESS_KEY);
    expect(outputs?.secretKey).toEqual({ ...SECRET, value: FAKE_SECRET_KEY });
  });

  it.each([
    ['projectId', { name: 'a', projectId: 'my-project' }, /projectId: "my-project" is not a UUID/],
    ['projectId', { name: 'a', projectId: '' }, /projectId: "" is not a UUID/],
    ['organizationId', { name: 'a', projectId: PROJECT_ID, organizationId: 'org' }, /organizationId: "org" is not a UUID/],
    ['name', { name: ' ', projectId: PROJECT_ID }, /name: BackupIdentity ".*" needs a non-empty IAM application name/],
  ])('rejects a bad %s synchronously, registering nothing', async (input, args, message) => {
    const name = `badid-${mocks.registered.size}`;
    expect(() => new BackupIdentity(name, args)).toThrow(message);
    expect(() => new BackupIdentity(`${name}x`, args)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', input }));
    await tick();
    expect([...mocks.registered.keys()].some((k) => k.startsWith(name))).toBe(false);
  });
});

describe('policyFor', () => {
  const table: Array<[string, string, PolicyDefaults]> = [
    ['production', 'critical', { rpo: '4h', retention: { daily: 7, weekly: 4, monthly: 12 }, copyToSecondStore: true }],
    ['production', 'database', { rpo: '4h', retention: { daily: 7, weekly: 4, monthly: 12 }, copyToSecondStore: true }],
    ['production', 'PII', { rpo: '4h', retention: { daily: 7, weekly: 4 }, copyToSecondStore: true }],
    ['production', 'standard', { rpo: '24h', retention: { daily: 7, weekly: 4 }, copyToSecondStore: false }],
    ['staging', 'critical', { rpo: '24h', retention: { daily: 3 }, copyToSecondStore: false }],
    ['development', 'standard', { rpo: '24h', retention: { daily: 3 }, copyToSecondStore: false }],
  ];
  it.each(table)('%s + %s', (env, cls, expected) => {
    expect(policyFor(env, cls)).toEqual(expected);
  });

  it('returns a copy: changing it does not change the table', () => {
    policyFor('production', 'critical').retention.daily = 1;
    expect(policyFor('production', 'critical').retention.daily).toBe(7);
  });

  it('names the input and the allowed values for unknown names', () => {
    expect(() => policyFor('prod', 'critical')).toThrow('environment: "prod" is not a known environment; use one of production, staging, development');
    expect(() => policyFor('production', 'gold')).toThrow('dataClass: "gold" is not a known dataClass; use one of critical, database, pii, standard');
    expect(() => policyFor('qa', 'critical')).toThrow(InvalidInputError);
  });
});

describe('mergePolicy', () => {
  const defaults = policyFor('production', 'critical');

  it('keeps the defaults without overrides, as a copy', () => {
    const merged = mergePolicy(defaults);
    expect(merged).toEqual(defaults);
    expect(merged.retention).not.toBe(defaults.retention);
  });

  it('lets overrides win field by field and retention key by key', () => {
    const merged = mergePolicy(defaults, { rpo: '1h', retention: { daily: 14, yearly: 2, monthly: 0 } });
    expect(merged).toEqual({ rpo: '1h', retention: { daily: 14, weekly: 4, monthly: 0, yearly: 2 }, copyToSecondStore: true });
    expect(mergePolicy(defaults, { copyToSecondStore: false, retention: { daily: undefined } }))
      .toEqual({ ...defaults, copyToSecondStore: false });
    expect(defaults.retention).toEqual({ daily: 7, weekly: 4, monthly: 12 });
  });

  it('rejects bad overrides, naming the field', () => {
    expect(() => mergePolicy(defaults, { rpo: 'hourly' })).toThrow(/^rpo: "hourly" is not a duration/);
    expect(() => mergePolicy(defaults, { rpo: '0h' })).toThrow(/^rpo:/);
    expect(() => mergePolicy(defaults, { retention: { weekly: -1 } })).toThrow(/^retention\.weekly: -1/);
    expect(() => mergePolicy(defaults, { retention: { daily: 2.5 } })).toThrow(/^retention\.daily: 2\.5/);
  });
});
