/**
 * The scw-backup engine: an encrypted, deduplicated store for disk images. Knows nothing of Pulumi or
 * of the CLI; both call these functions.
 */

export * from './errors';
export { DEFAULT_KDF, WEAK_KDF_MEMORY_KIB } from './crypto/kdf';
export { UnwrappedKeys } from './crypto/unwrapped-keys';
export type { Backend, ByteRange, ObjectInfo } from './store/backend';
export { FsBackend } from './store/backends/fs';
// The S3 backend is reached through openBackend('s3://…'), which loads the AWS SDK only when needed.
export type { S3Backend, S3BackendOptions, S3UrlOptions } from './store/backends/s3';
export { openBackend, type LocationOptions } from './location';
export { initRepository, openRepository } from './open';
export { Repository, RepositoryExistsError, type InitOptions, type KdfOptions, type KeyInfo, type OpenOptions } from './store/repository';
export { systemClock, type Clock } from './clock';
export { storeNow } from './store/backend';
export { withLock, type LockScopeOptions } from './store/lock-scope';
export { DEFAULT_CHUNKER, DEFAULT_PACK_SIZE, FORMAT_VERSION, UnsupportedConfigError, type ChunkerParams, type FormatVersion, type RepositoryConfig } from './store/config';
export type { Snapshot, SnapshotManifest, SnapshotStats, SnapshotSummary } from './store/snapshot';
export { listSnapshots, readSnapshotFiles, findSnapshot, loadSnapshot, readDiskMap, describeFilter, isEmptyFilter, matchesFilter, type SnapshotFilter, type SnapshotListing } from './store/snapshots';
export type { DamagedSnapshot } from './store/snapshot-file';
export type { MapExtent } from './store/disk-map';
export { listDrills, readDrillFile, saveDrillRecord, type DamagedDrill, type Drill, type DrillFilter, type DrillListing, type DrillRecord } from './store/drill-record';
export { backupImage, type BackupOptions } from './backup';
export { restoreImage, type RestoreOptions, type RestoreResult } from './restore';
export { restoreQcow2 } from './restore-qcow2';
export { readSnapshotLayout, listSnapshotPath, dumpSnapshotPath, normalizePath, type PathListing, type SnapshotFilesOptions } from './file-restore';
export type { DiskLayout, Volume } from './disk/volumes';
export type { Partition, PartitionTable } from './disk/partitions';
export type { FileSystemType } from './disk/fs-type';
export type { FileInfo } from './files/ext-fs';
export { serveSnapshot, type ServeOptions } from './serve';
export type { NbdStats } from './nbd/server';
export type { DumpOptions, DumpResult } from './files/dump';
export { drillToFile, runDrill, checkDrillable, DrillMismatchError, type DrillOptions, type DrillResult, type DrillSteps, type FileDrillOptions } from './drill';
export { compareWithSnapshot, type DiskComparison } from './verify-disk';
export { TargetExistsError } from './target-file';
export { SnapshotSource } from './source/snapshot-source';
export { SnapshotReader, DEFAULT_CHUNK_CACHE_BYTES, DEFAULT_PREFETCH_BYTES, type SnapshotReaderOptions, type SnapshotReaderStats } from './source/snapshot-reader';
export { isQcow2, openQcow2, qcow2Stream, qcow2StreamLength, Qcow2Image } from './qcow2';
export { checkRepository, checkRepository as check, type CheckOptions, type CheckResult, type CheckProblem } from './check';
export type { Progress, ProgressCallback } from './progress';
export { formatAge, formatBytes } from './format';
export * from './report';
export {
  applyRetentionPolicy, describePolicy, groupSnapshots, isEmptyPolicy, parseGroupBy, parseRetentionDuration,
  type GroupField, type KeepCount, type KeptSnapshot, type RetentionDecision, type RetentionDuration, type RetentionOptions, type RetentionPolicy,
  type SnapshotGroupKey,
} from './retention';
export { forgetSnapshots, removeSnapshots, EmptyPolicyError, type ForgetGroup, type ForgetOptions, type ForgetResult } from './forget';
export { compactIndex, type CompactOptions, type CompactResult } from './compact';
export { pruneRepository, PruneRefusedError, DEFAULT_PRUNE_GRACE_MS, DEFAULT_REPACK_THRESHOLD, type PruneOptions, type PruneResult } from './prune';
export { copySnapshots, snapshotIdentity, IncompatibleStoresError, type CopiedSnapshot, type CopyOptions, type CopyResult } from './copy';
export {
  Lock, LockExpiredError, RepositoryLockedError, LOCK_REFRESH_MS, LOCK_STALE_MS, describeLock, isStale, listLocks, removeLocks,
  type LockEntry, type LockInfo, type LockOptions, type UnlockResult, type UnreadableLock,
} from './store/locks';
export type { DiskSource, DiskSourceInfo, Extent, FormatReason } from './source/disk-source';
export { RawFileSource } from './source/raw-file';
export { FileRangeReader, type RangeReader } from './source/range-reader';
export { openDiskImage, type OpenImageOptions } from './source/open-image';
export { parseImageFormat, type ImageFormat } from './source/image-format';
