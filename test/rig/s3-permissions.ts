/**
 * IAM permission sets, enforced in front of s3rver for the keys a test registers with them (every
 * other key may do anything, as before): each request is classified as the S3 action it is, and
 * refused with 403 AccessDenied unless one of the key's sets allows that action. The table is
 * Scaleway's (docs-content pages/object-storage/reference-content/s3-iam-permissions-equivalence.mdx);
 * the full sets (ObjectStorageFullAccess, AllProductsFullAccess) allow everything.
 *
 * Guesses (test/emulator/README.md): that a request refused by IAM gets AWS's 403 AccessDenied body,
 * and that project scoping plays no part (the test keys have one project).
 */
import type { IncomingMessage } from 'node:http';

/** The S3 action of a request, as the equivalence page names them (path-style requests). */
export function s3Action(req: IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://s3');
  const q = url.searchParams;
  const objectKey = url.pathname.split('/').filter(Boolean).length > 1;
  const m = req.method ?? 'GET';
  if (!objectKey) {
    if (m === 'HEAD') return 'HeadBucket';
    if (m === 'GET' && q.has('lifecycle')) return 'GetBucketLifecycleConfiguration';
    if (m === 'PUT' && q.has('lifecycle')) return 'PutBucketLifecycleConfiguration';
    if (m === 'PUT' && q.has('object-lock')) return 'PutObjectLockConfiguration';
    if (m === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : q.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
    if (m === 'POST' && q.has('delete')) return 'DeleteObjects';
    if (m === 'PUT') return 'CreateBucket';
    if (m === 'DELETE') return 'DeleteBucket';
    return `${m} bucket`;
  }
  if (m === 'HEAD') return 'HeadObject';
  if (m === 'GET') return q.has('uploadId') ? 'ListParts' : 'GetObject';
  if (m === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (m === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (m === 'PUT' && q.has('uploadId')) return 'UploadPart';
  if (m === 'PUT' && q.has('retention')) return 'PutObjectRetention';
  if (m === 'PUT') return 'PutObject';
  if (m === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  return `${m} object`;
}

const OBJECTS_READ = ['GetObject', 'HeadObject', 'ListMultipartUploads', 'ListObjects', 'ListObjectsV2', 'ListParts'];
/** Which sets allow each action (the equivalence page's tables, the ones our flows and tests touch). */
const ALLOWED_BY: Record<string, string[]> = {
  ObjectStorageBucketsRead: ['HeadBucket', 'GetBucketLifecycleConfiguration'],
  ObjectStorageBucketsWrite: ['CreateBucket', 'PutBucketLifecycleConfiguration'],
  ObjectStorageBucketsDelete: ['DeleteBucket'],
  ObjectStorageObjectsRead: OBJECTS_READ,
  ObjectStorageReadOnly: [...OBJECTS_READ, 'HeadBucket', 'GetBucketLifecycleConfiguration'],
  ObjectStorageObjectsWrite: ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'PutObjectRetention', 'PutObjectLockConfiguration'],
  ObjectStorageObjectsDelete: ['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload'],
};
const EVERYTHING = new Set(['ObjectStorageFullAccess', 'AllProductsFullAccess']);

/** The access key a SigV4 request is signed with (`Credential=AKID/date/region/s3/aws4_request`). */
export function accessKeyOf(req: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
}

/** Whether `sets` allow `action`. */
export function allows(sets: ReadonlySet<string>, action: string): boolean {
  if ([...sets].some((s) => EVERYTHING.has(s))) return true;
  return [...sets].some((s) => ALLOWED_BY[s]?.includes(action));
}
