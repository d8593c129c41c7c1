/**
 * IAM v1alpha1 through the real @scaleway/sdk-iam client: application, policy with rules, API key
 * (secret shown once), permission sets; and keys made here are enforced by the emulator.
 */
import { Blockv1 } from '@scaleway/sdk-block';
import { Errors } from '@scaleway/sdk-client';
import { Instancev1 } from '@scaleway/sdk-instance';
import { clientFor, startRig, type Rig } from './harness';

const BACKUP_SETS = [
  'InstancesFullAccess',
  'BlockStorageFullAccess',
  'ObjectStorageBucketsRead',
  'ObjectStorageBucketsWrite',
  'ObjectStorageObjectsRead',
  'ObjectStorageObjectsWrite',
  'ObjectStorageObjectsDelete',
];

describe('emulated IAM API', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(() => rig.stop());

  test('permission sets include what the backup application needs', async () => {
    const res = await rig.iam.listPermissionSets({});
    expect(res.totalCount).toBe(res.permissionSets.length);
    const names = res.permissionSets.map((p) => p.name);
    for (const n of BACKUP_SETS) expect(names).toContain(n);
    expect(res.permissionSets.find((p) => p.name === 'InstancesFullAccess')?.scopeType).toBe('projects');
    expect(res.permissionSets.find((p) => p.name === 'IAMManager')?.scopeType).toBe('organization');
  });

  test('application, policy with rules, API key: created, read back, enforced, deleted', async () => {
    const projectId = rig.emulator.credentials.projectId;
    const app = await rig.iam.createApplication({ name: 'scw-backup', description: 'backup engine', tags: ['managed-by:pulumi'] });
    expect(app).toMatchObject({ name: 'scw-backup', description: 'backup engine', organizationId: rig.emulator.credentials.organizationId, nbApiKeys: 0 });
    expect((await rig.iam.getApplication({ applicationId: app.id })).name).toBe('scw-backup');

    const policy = await rig.iam.createPolicy({
      name: 'scw-backup',
      description: 'least privilege for backups',
      applicationId: app.id,
      rules: [{ permissionSetNames: ['BlockStorageFullAccess', ...BACKUP_SETS.filter((n) => n.startsWith('ObjectStorage'))], projectIds: [projectId], condition: '' }],
    });
    expect(policy).toMatchObject({ applicationId: app.id, nbRules: 1, nbScopes: 1, nbPermissionSets: 6 });
    const rules = await rig.iam.listRules({ policyId: policy.id });
    expect(rules.totalCount).toBe(1);
    expect(rules.rules[0]).toMatchObject({ projectIds: [projectId], permissionSetsScopeType: 'projects' });

    const key = await rig.iam.createAPIKey({ applicationId: app.id, description: 'ci', defaultProjectId: projectId });
    expect(key.accessKey).toMatch(/^SCW[A-Z0-9]{17}$/);
    expect(key.secretKey).toMatch(/^[0-9a-f-]{36}$/);
    const again = await rig.iam.getAPIKey({ accessKey: key.accessKey });
    expect(again.secretKey).toBeUndefined();
    expect(again.applicationId).toBe(app.id);
    expect((await rig.iam.getApplication({ applicationId: app.id })).nbApiKeys).toBe(1);

    // The new key works where the policy allows, and only there.
    const asApp = clientFor(rig.emulator, { accessKey: key.accessKey, secretKey: key.secretKey as string });
    await expect(new Blockv1.API(asApp).listVolumes({ includeDeleted: false })).resolves.toBeDefined();
    const denied = await new Instancev1.API(asApp).listServers({}).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Errors.PermissionsDeniedError);
    expect(denied).toMatchObject({ list: [{ resource: 'instance', action: 'read' }] });

    await rig.iam.setRules({ policyId: policy.id, rules: [{ permissionSetNames: BACKUP_SETS, projectIds: [projectId], condition: '' }] });
    await expect(new Instancev1.API(asApp).listServers({})).resolves.toBeDefined();

    await rig.iam.deleteAPIKey({ accessKey: key.accessKey });
    await expect(new Blockv1.API(asApp).listVolumes({ includeDeleted: false })).rejects.toBeInstanceOf(Errors.DeniedAuthenticationError);
    await expect(rig.iam.getAPIKey({ accessKey: key.accessKey })).rejects.toMatchObject({ name: 'ResourceNotFoundError', resource: 'api_key' });

    await rig.iam.deletePolicy({ policyId: policy.id });
    await expect(rig.iam.getPolicy({ policyId: policy.id })).rejects.toMatchObject({ resource: 'policy' });
    await rig.iam.deleteApplication({ applicationId: app.id });
    await expect(rig.iam.getApplication({ applicationId: app.id })).rejects.toMatchObject({ name: 'ResourceNotFoundError', resource: 'application' });
  });

  test('unknown permission sets and rules without a scope are refused', async () => {
    const app = await rig.iam.createApplication({ description: 'x' });
    await expect(
      rig.iam.createPolicy({ description: 'x', applicationId: app.id, rules: [{ permissionSetNames: ['NoSuchSet'], projectIds: [rig.emulator.credentials.projectId], condition: '' }] }),
    ).rejects.toMatchObject({ name: 'InvalidArgumentsError' });
    await expect(rig.iam.createPolicy({ description: 'x', applicationId: '7c6b1c1e-0000-4000-8000-000000000000' })).rejects.toMatchObject({ name: 'ResourceNotFoundError' });
  });
});
