/** Pulumi component resources of scw-backup, and the default backup policy table. */
export {
  StagingBucket, OBJECT_STORAGE_REGIONS, type ObjectStorageRegion, type StagingBucketArgs,
} from './staging-bucket';
export { StoreBucket, type StoreBucketArgs } from './store-bucket';
export {
  BackupIdentity, BACKUP_PERMISSION_SETS, INSTANCE_PERMISSION_SET, type BackupIdentityArgs,
} from './backup-identity';
export {
  policyFor, mergePolicy, ENVIRONMENTS, DATA_CLASSES,
  type Environment, type DataClass, type PolicyDefaults, type PolicyOverrides, type PolicyRetention,
} from './backup-policy';
