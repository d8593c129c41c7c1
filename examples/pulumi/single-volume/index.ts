/**
 * One Block Storage volume, backed up every 4 hours into an encrypted store (examples/pulumi/README.md).
 * `pulumi up` creates the staging bucket, the backup's own IAM identity and the store, and takes the
 * backups that are due; `pulumi preview --expect-no-changes` fails when one is overdue.
 */
import * as pulumi from '@pulumi/pulumi';
import { BackupIdentity, BackupSource, BackupStore, StagingBucket, policyFor } from 'scw-backup/provider';

const config = new pulumi.Config();
const volumeId = config.require('volumeId');
const zone = config.get('zone') ?? 'fr-par-1';
const projectId = config.require('projectId');
// The zone's region (fr-par-1 → fr-par): Block Storage exports only to a bucket of its own region.
const region = zone.replace(/-[0-9]+$/, '');
const storeBucket = config.require('storeBucket');
const storePrefix = config.get('storePrefix') ?? pulumi.getStack();
const storeRegion = config.get('storeRegion') ?? region;
// Other endpoints than Scaleway's (an S3-compatible store elsewhere, a private endpoint, the tests' emulator).
const apiUrl = config.get('apiUrl');
const s3Endpoint = config.get('s3Endpoint');
// How often `pulumi up` runs: .github/workflows/backup.yml's cron. Backups are taken by the last run
// before the RPO runs out, not the first after it (docs/PULUMI.md "Schedule and cadence").
const cadence = config.get('cadence') ?? '0 * * * *';

const staging = new StagingBucket('staging', { name: config.get('stagingBucket'), region, projectId });
const identity = new BackupIdentity('backup', { name: `scw-backup-${pulumi.getStack()}`, projectId, instances: false });

// pulumi.output over the whole object keeps it one Output, secret because the passphrase and the
// secret key are: it never becomes a plain string in this program or in the exports.
const store = pulumi.output({
  url: `s3://${storeBucket}/${storePrefix}`,
  passphrase: config.requireSecret('storePassphrase'),
  s3: { region: storeRegion, endpoint: s3Endpoint, accessKey: identity.accessKey, secretKey: identity.secretKey },
});
const scaleway = pulumi.output({ accessKey: identity.accessKey, secretKey: identity.secretKey, projectId, apiUrl, s3Endpoint });

const backupStore = new BackupStore('store', { store });

const policy = policyFor('production', 'critical');
const source = new BackupSource('volume', {
  kind: 'volume',
  zone,
  resourceId: volumeId,
  bucket: staging.bucketName,
  store,
  scaleway,
  environment: 'production',
  dataClass: 'critical',
  schedule: policy.rpo,
  cadence,
  retention: policy.retention,
}, { dependsOn: [backupStore] });

export const lastSnapshotId = source.lastSnapshotId;
export const status = source.status;
/** The report's facts for this source (docs/PULUMI.md "Compliance outputs"), as of the last update or refresh. */
export const rpoMet = source.rpoMet;
export const rpoDeadline = source.rpoDeadline;
export const lastDrillResult = source.lastDrillResult;
export const stagingBucket = staging.bucketName;
export const accessKey = identity.accessKey;
