/**
 * Which IAM permission set allows each call the engine makes, and so which sets an identity needs
 * for the work it does: BackupIdentity (provider/components/backup-identity.ts) grants exactly
 * `permissionSetsFor(...)`, and test/engine/scaleway/permissions.test.ts runs the flows with a key
 * holding only those, checking that every call they make is listed here under its role.
 *
 * Sources: docs-content pages/iam/reference-content/permission-sets.mdx (Block Storage and
 * Instances have only ReadOnly and FullAccess sets: any write needs FullAccess; InstancesServerStart
 * and InstancesServerStop exist but cover no volume or snapshot call) and
 * pages/object-storage/reference-content/s3-iam-permissions-equivalence.mdx (S3 action → set:
 * ListObjectsV2, HeadObject, GetObject → ObjectsRead; HeadBucket → BucketsRead; PutObject and the
 * multipart calls → ObjectsWrite; DeleteObject, AbortMultipartUpload → ObjectsDelete;
 * PutBucketLifecycleConfiguration → BucketsWrite, which no flow calls).
 */
import { InvalidInputError } from '../errors';

export type PermissionSet =
  | 'BlockStorageReadOnly' | 'BlockStorageFullAccess' | 'InstancesReadOnly' | 'InstancesFullAccess'
  | 'ObjectStorageBucketsRead' | 'ObjectStorageObjectsRead' | 'ObjectStorageObjectsWrite' | 'ObjectStorageObjectsDelete';

const BR = 'BlockStorageReadOnly';
const BW = 'BlockStorageFullAccess';
const IR = 'InstancesReadOnly';
const IW = 'InstancesFullAccess';

/** Every call the engine makes, by SDK method (`block.*`, `instance.*`) or S3 action (`s3:*`). */
export const CALL_PERMISSIONS = {
  'block.getVolume': BR, 'block.listVolumes': BR, 'block.getSnapshot': BR, 'block.listSnapshots': BR,
  'block.createSnapshot': BW, 'block.exportSnapshotToObjectStorage': BW, 'block.importSnapshotFromObjectStorage': BW,
  'block.deleteSnapshot': BW, 'block.updateSnapshot': BW, 'block.createVolume': BW, 'block.deleteVolume': BW,
  'instance.getServer': IR, 'instance.getSnapshot': IR, 'instance.listSnapshots': IR, 'instance.getVolume': IR,
  'instance.createSnapshot': IW, 'instance.exportSnapshot': IW, 'instance.deleteSnapshot': IW, 'instance.updateSnapshot': IW,
  'instance.createVolume': IW, 'instance.deleteVolume': IW, 'instance.attachServerVolume': IW, 'instance.detachServerVolume': IW,
  'instance.serverAction': IW, 'instance.createServer': IW, 'instance.deleteServer': IW,
  's3:HeadBucket': 'ObjectStorageBucketsRead',
  's3:ListObjectsV2': 'ObjectStorageObjectsRead', 's3:HeadObject': 'ObjectStorageObjectsRead', 's3:GetObject': 'ObjectStorageObjectsRead',
  's3:PutObject': 'ObjectStorageObjectsWrite', 's3:CreateMultipartUpload': 'ObjectStorageObjectsWrite',
  's3:UploadPart': 'ObjectStorageObjectsWrite', 's3:CompleteMultipartUpload': 'ObjectStorageObjectsWrite',
  's3:DeleteObject': 'ObjectStorageObjectsDelete', 's3:AbortMultipartUpload': 'ObjectStorageObjectsDelete',
} as const satisfies Record<string, PermissionSet>;

export type EngineCall = keyof typeof CALL_PERMISSIONS;

/** A store in a bucket, read or written: locks are written and removed by readers and writers alike. */
const STORE: EngineCall[] = ['s3:HeadBucket', 's3:ListObjectsV2', 's3:HeadObject', 's3:GetObject', 's3:PutObject', 's3:DeleteObject',
  's3:CreateMultipartUpload', 's3:UploadPart', 's3:CompleteMultipartUpload', 's3:AbortMultipartUpload'];

/** The calls of each kind of work (the flows in this folder, and forget/prune on the store). */
export const ROLE_CALLS = {
  /** backupBlockVolume (with its leftover sweep, keepNativeSnapshot) and verifyVolume. */
  'backup-volume': [...STORE, 'block.getVolume', 'block.createSnapshot', 'block.getSnapshot', 'block.listSnapshots',
    'block.exportSnapshotToObjectStorage', 'block.deleteSnapshot', 'block.updateSnapshot'],
  /** backupInstance: its SBS volumes as above, its local volumes through the Instance API. */
  'backup-instance': ['instance.getServer', 'instance.getVolume', 'instance.createSnapshot', 'instance.getSnapshot', 'instance.listSnapshots',
    'instance.exportSnapshot', 'instance.deleteSnapshot', 'instance.updateSnapshot'],
  /** restoreBlockVolume to a new volume (its volume removed again when stopped). */
  'restore-volume': [...STORE, 'block.importSnapshotFromObjectStorage', 'block.getSnapshot', 'block.listSnapshots', 'block.deleteSnapshot',
    'block.createVolume', 'block.getVolume', 'block.deleteVolume'],
  /** ...attached to a server, or swapped in place. */
  'restore-attach': ['instance.attachServerVolume', 'instance.detachServerVolume'],
  /** restoreInstance, and the deletion of what a restore created (Restore, RestoreDrill). */
  'restore-instance': ['instance.getServer', 'instance.createSnapshot', 'instance.getSnapshot', 'instance.listSnapshots', 'instance.deleteSnapshot',
    'instance.createVolume', 'instance.getVolume', 'instance.deleteVolume', 'instance.createServer', 'instance.serverAction',
    'instance.attachServerVolume', 'instance.detachServerVolume', 'instance.deleteServer'],
  /** The direct-attach path (attach-backup.ts, attach-restore.ts): a temporary or new volume attached to this Instance. */
  'direct-attach': ['block.createVolume', 'block.getVolume', 'block.listVolumes', 'block.deleteVolume', 'instance.attachServerVolume', 'instance.detachServerVolume'],
  /** forget (retention) and prune: the store only. */
  maintenance: [...STORE],
} as const satisfies Record<string, readonly EngineCall[]>;

export interface IdentityNeeds {
  /** Back up whole Instances (local volumes go through the Instance API). */
  instances?: boolean;
  /** Restore: `true` new volumes, `'attach'` attached to or swapped onto a server, `'instances'` whole servers. */
  restores?: boolean | 'attach' | 'instances';
  /** Apply retention (forget) and prune with this key. Needs `deletes`. */
  maintenance?: boolean;
  /** Back up and restore by direct attach (`--via attach`, or volumes over 1 TB on an Instance): attaches volumes to this Instance. */
  directAttach?: boolean;
  /**
   * May delete objects (default true). Without it the key cannot remove staging objects (left to the
   * staging bucket's lifecycle rule) nor its lock files (they go stale after 30 minutes), and cannot
   * delete a single backup: for a key that must not be able to erase the store.
   */
  deletes?: boolean;
}

/** The calls an identity with these needs makes. */
export function callsFor(n: IdentityNeeds): EngineCall[] {
  const calls = new Set<EngineCall>(ROLE_CALLS['backup-volume']);
  const add = (list: readonly EngineCall[]): void => list.forEach((c) => calls.add(c));
  if (n.instances) add(ROLE_CALLS['backup-instance']);
  if (n.restores) add(ROLE_CALLS['restore-volume']);
  if (n.restores === 'attach') add(ROLE_CALLS['restore-attach']);
  if (n.restores === 'instances') add(ROLE_CALLS['restore-instance']);
  if (n.maintenance) add(ROLE_CALLS.maintenance);
  if (n.directAttach) add(ROLE_CALLS['direct-attach']);
  return [...calls];
}

/**
 * The permission sets for these needs: each call's set, a ReadOnly set dropped where its product's
 * FullAccess is granted too (FullAccess reads as well), ObjectsDelete dropped without `deletes`.
 */
export function permissionSetsFor(n: IdentityNeeds = {}): PermissionSet[] {
  if (n.maintenance && n.deletes === false) {
    throw new InvalidInputError('deletes', 'false cannot go with maintenance: forget and prune delete from the store; give them another identity');
  }
  const sets = new Set<PermissionSet>(callsFor(n).map((c) => CALL_PERMISSIONS[c]));
  if (sets.has(BW)) sets.delete(BR);
  if (sets.has(IW)) sets.delete(IR);
  if (n.deletes === false) sets.delete('ObjectStorageObjectsDelete');
  const order: PermissionSet[] = [BR, BW, 'ObjectStorageBucketsRead', 'ObjectStorageObjectsRead', 'ObjectStorageObjectsWrite', 'ObjectStorageObjectsDelete', IR, IW];
  return order.filter((s) => sets.has(s));
}
