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
export {
  EdgeCluster, EDGE_CLUSTER_OSES, PRIVATE_NETWORK_OPTION_ID, withRootSize,
  type EdgeClusterArgs, type EdgeClusterOs, type EdgeHost, type EdgeInventory,
} from './edge-cluster';
export { BackupSchedule, renderPlan, planFromSources, type DeclaredSource, SERVERLESS_JOBS_REGIONS, type ServerlessJobsRegion, type BackupScheduleArgs, type BackupScheduleSecrets, type RenderPlanArgs } from './backup-schedule';
