/**
 * A whole production environment (examples/pulumi/README.md): several Instances, each backed up
 * whole (every volume, one group snapshot) with the policy of its data class, into a primary store;
 * the classes whose policy asks for it (3-2-1) are backed up a second time into a store in another
 * region.
 */
import * as pulumi from '@pulumi/pulumi';
import { BackupIdentity, BackupSource, BackupStore, StagingBucket, policyFor } from 'scw-backup/provider';

/** One Instance to back up: `pulumi config set --path 'instances[0].serverId' <uuid>` and so on. */
interface InstanceConfig {
  name: string;
  serverId: string;
  /** critical, database, pii or standard (provider/components/backup-policy.ts). */
  dataClass: string;
}

// Placeholders: replace them with your servers' ids (`scw instance server list`).
const DEFAULT_INSTANCES: InstanceConfig[] = [
  { name: 'web', serverId: '00000000-0000-4000-8000-000000000001', dataClass: 'standard' },
  { name: 'db', serverId: '00000000-0000-4000-8000-000000000002', dataClass: 'database' },
  { name: 'files', serverId: '00000000-0000-4000-8000-000000000003', dataClass: 'pii' },
];

const ENVIRONMENT = 'production';
/** The other Object Storage region, for the second store (another region is another site). */
const OTHER_REGION: Record<string, string> = { 'fr-par': 'nl-ams', 'nl-ams': 'fr-par', 'pl-waw': 'fr-par' };

const config = new pulumi.Config();
const instances = config.getObject<InstanceConfig[]>('instances') ?? DEFAULT_INSTANCES;
const zone = config.get('zone') ?? 'fr-par-1';
const projectId = config.require('projectId');
const region = zone.replace(/-[0-9]+$/, '');
const storePrefix = config.get('storePrefix') ?? pulumi.getStack();
const passphrase = config.requireSecret('storePassphrase');
// Other endpoints than Scaleway's (a private endpoint, the tests' emulator); both stores use s3Endpoint.
const apiUrl = config.get('apiUrl');
const s3Endpoint = config.get('s3Endpoint');
// How often `pulumi up` runs (the CI's cron): docs/PULUMI.md "Schedule and cadence".
const cadence = config.get('cadence') ?? '0 * * * *';

const staging = new StagingBucket('staging', { name: config.get('stagingBucket'), region, projectId });
const identity = new BackupIdentity('backup', { name: `scw-backup-${pulumi.getStack()}`, projectId, instances: true });
const scaleway = pulumi.output({ accessKey: identity.accessKey, secretKey: identity.secretKey, projectId, apiUrl, s3Endpoint });

/** A store's connection: one secret Output (it holds the passphrase and the secret key). */
function storeConnection(bucket: string, bucketRegion: string) {
  return pulumi.output({
    url: `s3://${bucket}/${storePrefix}`,
    passphrase,
    s3: { region: bucketRegion, endpoint: s3Endpoint, accessKey: identity.accessKey, secretKey: identity.secretKey },
  });
}
const primary = storeConnection(config.require('storeBucket'), config.get('storeRegion') ?? region);
const second = storeConnection(config.require('secondStoreBucket'), config.get('secondStoreRegion') ?? OTHER_REGION[region] ?? 'nl-ams');
const primaryStore = new BackupStore('store', { store: primary });
const secondStore = new BackupStore('second-store', { store: second });

const sources: Record<string, BackupSource> = {};
for (const instance of instances) {
  const policy = policyFor(ENVIRONMENT, instance.dataClass);
  const common = {
    kind: 'instance' as const,
    zone,
    resourceId: instance.serverId,
    bucket: staging.bucketName,
    scaleway,
    environment: ENVIRONMENT,
    dataClass: instance.dataClass,
    tags: { instance: instance.name },
    schedule: policy.rpo,
    cadence,
    retention: policy.retention,
  };
  sources[instance.name] = new BackupSource(instance.name, { ...common, store: primary }, { dependsOn: [primaryStore] });
  if (policy.copyToSecondStore) {
    // An independent second backup (its own export of the server, its own schedule), not a copy of
    // the first: copying snapshots store to store is `scw-backup copy`, the CLI's job, and not a
    // resource yet (docs/PULUMI.md "Not yet"). Its own staging prefix keeps the two sources' exports
    // and leftover clean-up apart when both run in the same `pulumi up`.
    sources[`${instance.name}-second`] = new BackupSource(`${instance.name}-second`, {
      ...common, store: second, stagingPrefix: 'scw-backup-second',
    }, { dependsOn: [secondStore] });
  }
}

export const stagingBucket = staging.bucketName;
export const accessKey = identity.accessKey;
/** Per source: its status (ok, no-backup-yet, missing-from-store), newest snapshot, RPO met and last drill. */
export const backups = pulumi.output(Object.fromEntries(Object.entries(sources).map(([name, s]) => [
  name, { status: s.status, lastSnapshotId: s.lastSnapshotId, lastSnapshotTime: s.lastSnapshotTime, rpoMet: s.rpoMet, lastDrillResult: s.lastDrillResult },
])));
