/**
 * Scaleway sources: back up Block Storage volumes, local volumes and whole Instances through the
 * staging bucket, and restore them as new volumes or servers (docs/SCALEWAY.md). Other folders
 * import only this file.
 */
export {
  DEFAULT_API_URL, checkZone, createScalewayClients, regionOfZone, resolveScalewayProfile, stagingBackend,
  type ClientOptions, type ScalewayClients, type ScalewayProfile, type ScalewayProfileOptions, type StagingOptions,
} from './config';
export {
  ExportFailedError, ImportFailedError, TransferLimitError, QuotaExceededError, ResourceFailedError, ScalewayApiError, ScalewayResourceNotFoundError,
  WaitTimeoutError, WrongProjectError, isScalewayNotFound, isTransientScalewayError, translateScalewayError,
} from './errors';
export { DEFAULT_WAIT, callScaleway, waitForStatus, type FlowTimeouts, type WaitOptions, type WaitSpec } from './wait';
export { S3ObjectReader, type RangedObjectStore } from './s3-object-reader';
export { TRANSFER_LIMIT, checkTransferable } from './limits';
export { DEFAULT_STAGING_PREFIX, DEFAULT_STALE_AFTER_MS, STAGING_TAG, TAG, callOrNotFound, type CleanupReport } from './common';
export { backupBlockVolume, type BackupStaging, type BlockBackupOptions, type BlockBackupResult } from './block-backup';
export { RestoreIncompleteError, restoreBlockVolume, type BlockRestoreOptions, type BlockRestoreResult, type RestoreStaging } from './block-restore';
export { backupLocalVolume } from './local-backup';
export { restoreLocalVolume, type LocalRestoreOptions } from './local-restore';
export { backupInstance, describeServer, type InstanceBackupOptions, type InstanceBackupResult } from './instance-backup';
export { InstanceRestoreIncompleteError, restoreInstance, type InstanceRestoreOptions, type InstanceRestoreResult, type RestoredMember } from './instance-restore';
export { GROUP_FORMAT, INSTANCE_KIND, isInstanceGroup, readGroup, type GroupMember, type ServerDescription } from './instance-group';
export { blockSnapshots, instanceSnapshots, type NativeSnapshots } from './native-snapshots';
export { deleteServerAndLocalVolumes } from './server-delete';
export { AttachUnavailableError, DEVICE_DIR, DeviceNotFoundError, devicePath, type AttachOptions } from './attach';
export { METADATA_URL, instanceMetadata, isInstance, type InstanceIdentity, type MetadataOptions, type NotAnInstance } from './metadata';
export { choosePath, type Via } from './via';
export { CALL_PERMISSIONS, ROLE_CALLS, callsFor, permissionSetsFor, type EngineCall, type IdentityNeeds, type PermissionSet } from './permissions';
export { compareWithSnapshot, verifyVolume, type VerifyVolumeOptions, type VerifyVolumeResult } from './verify-volume';
export { parseScalewayBlockUrl, parseScalewayInstanceUrl, type ScalewayBlockUrl, type ScalewayInstanceUrl } from './url';
export { drillVolume, DRILL_TAG, type VolumeDrillOptions, type VolumeDrillResult } from './drill-volume';
