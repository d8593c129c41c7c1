/**
 * scw-backup's Pulumi resources (`import { ... } from 'scw-backup/provider'`, docs/PULUMI.md):
 * components (StagingBucket, BackupIdentity), dynamic resources (BackupStore, BackupSource,
 * Restore, RestoreDrill), the default policy table (policyFor) and a source's compliance facts (complianceOf).
 * They declare and reconcile; engine/ does the work.
 */
export * from './components';
export { BackupStore, backupStoreProvider, type BackupStoreArgs } from './dynamic/backup-store';
export { BackupSource, backupSourceProvider, type BackupSourceArgs } from './dynamic/backup-source';
export { Restore, restoreProvider, type RestoreArgs } from './dynamic/restore';
export { RestoreDrill, restoreDrillProvider, type RestoreDrillArgs } from './dynamic/restore-drill';
export type { ScalewayConnection, StoreConnection } from './connection-types';
export type { BackupSourceInputs, BackupSourceOutputs, RetentionInput, SourceKind, SourceStatus } from './source-ops';
export type { DrillInputs, DrillOutputs, RestoreInputs, RestoreOutputs } from './restore-ops';
export { dueAt, isDue, parseSchedule, type Schedule } from './schedule';
export { complianceOf, rpoOfSchedule, type ComplianceFacts, type ComplianceOutputs } from './compliance';
