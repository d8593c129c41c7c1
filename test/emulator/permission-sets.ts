/**
 * The IAM permission sets the emulator knows: the ones the backup application needs (confirmed in
 * Scaleway's docs-content permission-sets.mdx, see the reference doc §3) and a few common
 * neighbours, with the scope each applies to. Descriptions are the emulator's own.
 */
export interface PermissionSetInfo {
  name: string;
  scopeType: 'projects' | 'organization';
  categories: string[];
  description: string;
}

const P = (name: string, categories: string[], description: string): PermissionSetInfo => ({ name, scopeType: 'projects', categories, description });
const O = (name: string, categories: string[], description: string): PermissionSetInfo => ({ name, scopeType: 'organization', categories, description });

export const PERMISSION_SETS: PermissionSetInfo[] = [
  P('AllProductsFullAccess', ['All products'], 'Full access to all products and features of the Project'),
  P('InstancesFullAccess', ['Compute'], 'Full access to Instances'),
  P('InstancesReadOnly', ['Compute'], 'Read access to Instances'),
  P('BlockStorageFullAccess', ['Storage'], 'Full access to Block Storage volumes and snapshots'),
  P('BlockStorageReadOnly', ['Storage'], 'Read access to Block Storage volumes and snapshots'),
  P('ObjectStorageFullAccess', ['Storage'], 'Full access to Object Storage'),
  P('ObjectStorageReadOnly', ['Storage'], 'Read access to Object Storage'),
  P('ObjectStorageBucketsRead', ['Storage'], 'List buckets and read bucket configuration'),
  P('ObjectStorageBucketsWrite', ['Storage'], 'Create buckets and change bucket configuration (lifecycle rules included)'),
  P('ObjectStorageObjectsRead', ['Storage'], 'List and read objects'),
  P('ObjectStorageObjectsWrite', ['Storage'], 'Write objects (object lock configuration included)'),
  P('ObjectStorageObjectsDelete', ['Storage'], 'Delete objects'),
  P('VPCFullAccess', ['Network'], 'Full access to VPCs and Private Networks'),
  P('ElasticMetalFullAccess', ['Bare Metal'], 'Full access to Elastic Metal servers'),
  O('IAMManager', ['Security & Identity'], 'Full access to IAM'),
  O('IAMReadOnly', ['Security & Identity'], 'Read access to IAM'),
];

/** Which permission sets let a key call which API: `[read, write]` sets per path prefix. */
export const API_PERMISSIONS: { prefix: string; resource: string; read: string[]; write: string[] }[] = [
  { prefix: '/block/', resource: 'block_storage', read: ['BlockStorageReadOnly', 'BlockStorageFullAccess', 'AllProductsFullAccess'], write: ['BlockStorageFullAccess', 'AllProductsFullAccess'] },
  { prefix: '/instance/', resource: 'instance', read: ['InstancesReadOnly', 'InstancesFullAccess', 'AllProductsFullAccess'], write: ['InstancesFullAccess', 'AllProductsFullAccess'] },
  { prefix: '/iam/', resource: 'iam', read: ['IAMReadOnly', 'IAMManager'], write: ['IAMManager'] },
];
