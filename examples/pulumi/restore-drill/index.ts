/**
 * A restore drill (examples/pulumi/README.md): back up a volume, restore its latest snapshot as a new
 * volume `<name>-drill`, and export how long the restore took, the measured RTO. The drill volume is
 * deleted with the stack (`deleteOnDestroy`); `pulumi up --replace` on the Restore runs the drill again.
 * Each month, a RestoreDrill also restores the latest snapshot to a scratch volume, compares every
 * byte with the store and deletes the scratch volume again.
 */
import * as pulumi from '@pulumi/pulumi';
import { BackupIdentity, BackupSource, BackupStore, Restore, RestoreDrill, StagingBucket, policyFor } from 'scw-backup/provider';

const config = new pulumi.Config();
const volumeId = config.require('volumeId');
const name = config.get('volumeName') ?? 'volume';
const zone = config.get('zone') ?? 'fr-par-1';
const projectId = config.require('projectId');
const region = zone.replace(/-[0-9]+$/, '');
const storeBucket = config.require('storeBucket');
const storePrefix = config.get('storePrefix') ?? pulumi.getStack();
// Other endpoints than Scaleway's (a private endpoint, the tests' emulator).
const apiUrl = config.get('apiUrl');
const s3Endpoint = config.get('s3Endpoint');

const staging = new StagingBucket('staging', { name: config.get('stagingBucket'), region, projectId });
const identity = new BackupIdentity('backup', { name: `scw-backup-${pulumi.getStack()}`, projectId, instances: false });
const store = pulumi.output({
  url: `s3://${storeBucket}/${storePrefix}`,
  passphrase: config.requireSecret('storePassphrase'),
  s3: { region: config.get('storeRegion') ?? region, endpoint: s3Endpoint, accessKey: identity.accessKey, secretKey: identity.secretKey },
});
const scaleway = pulumi.output({ accessKey: identity.accessKey, secretKey: identity.secretKey, projectId, apiUrl, s3Endpoint });
const backupStore = new BackupStore('store', { store });

const dataClass = config.get('dataClass') ?? 'critical';
const policy = policyFor('production', dataClass);
const source = new BackupSource(name, {
  kind: 'volume', zone, resourceId: volumeId, bucket: staging.bucketName, store, scaleway,
  environment: 'production', dataClass,
  schedule: policy.rpo, cadence: config.get('cadence') ?? '0 * * * *', retention: policy.retention,
}, { dependsOn: [backupStore] });

const restoreSource = pulumi.output({ kind: 'volume' as const, zone, resourceId: volumeId, bucket: staging.bucketName, store, scaleway });
// dependsOn the source: "latest" is read when the Restore is created, after the source's first backup.
const drill = new Restore(`${name}-drill`, {
  source: restoreSource,
  snapshot: 'latest',
  name: `${name}-drill`,
  deleteOnDestroy: true,
}, { dependsOn: [source] });

// A new runId is a new drill: with the month (the default), the first `pulumi up` of each month runs one.
const verify = new RestoreDrill(`${name}-verify`, {
  source: restoreSource,
  runId: config.get('drillRunId') ?? new Date().toISOString().slice(0, 7),
}, { dependsOn: [source] });

export const restoredSnapshotId = drill.snapshotId;
/** The monthly drill: bytes compared with the store, and its RTO in milliseconds. */
export const verifiedBytes = verify.verifiedBytes;
export const verifyRtoMs = verify.rtoMs;
/** The drill's record in the store: `scw-backup drills` lists it, the report shows it. */
export const drillId = verify.drillId;
export const drillVolumeIds = drill.volumeIds;
/** Wall-clock time of the restore, in milliseconds: the measured RTO. */
export const durationMs = drill.durationMs;
export const lastSnapshotId = source.lastSnapshotId;
