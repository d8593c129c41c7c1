/**
 * A real S3-compatible server (the npm package s3rver) on loopback, for integration tests. Each call
 * starts its own server on a free port with its data in a fresh temporary folder; stop() shuts it
 * down and removes the folder. Start it in beforeAll, stop it in afterAll.
 *
 * What s3rver 3.7 does and does not do (checked against its source): SigV4 signatures are NOT
 * verified (only the access key id is looked up, unknown ones get a real 403 InvalidAccessKeyId), but
 * a request time more than 15 minutes from the server's is refused with 403 RequestTimeTooSkewed, as
 * S3 does (lib/middleware/authentication.js; a client on a host whose clock is off must correct);
 * If-None-Match on PUT is ignored (it overwrites); Content-MD5 is not checked; Object Lock headers
 * are ignored; a multipart object's ETag is the MD5 of the whole object (not `md5-N`);
 * AbortMultipartUpload answers 405 MethodNotAllowed; `Range: bytes=0-0` returns the whole object.
 * Its ListObjectsV2 continuation tokens are DES-encrypted, and OpenSSL 3 (Node 17+) has no DES
 * outside the legacy provider: every truncated listing fails with 500 InternalError unless the
 * shim below is in place. Ranged GETs, HEAD and multipart uploads work.
 *
 * Object Storage's upload limits (1000 parts of 5 MiB-5 GB, 5 GB single PUTs) are enforced in front
 * of it (s3-limits.ts), Scaleway's by default; `limits` lowers them so a test reaches them cheaply.
 */
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SCALEWAY_UPLOAD_LIMITS, guardUploads, type S3UploadLimits, type UploadLog } from './s3-limits';

export type { S3UploadLimits, UploadLog } from './s3-limits';

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The upload limits enforced, and what the guard saw (completed multipart uploads, refusals, every action). */
  limits: S3UploadLimits;
  uploads: UploadLog;
  /**
   * Accept another key pair (an IAM key the emulator made), allowed only what `permissionSets` allow
   * (test/rig/s3-permissions.ts); without sets, anything.
   */
  addKey(accessKeyId: string, secretAccessKey: string, permissionSets?: readonly string[]): void;
  createBucket(name: string): Promise<void>;
  /** Write an object as the bucket's owner would, replacing whatever is there (the store itself never does). */
  overwrite(bucket: string, key: string, body: Uint8Array): Promise<void>;
  /**
   * Make an object look written at `when`: s3rver stamps LastModified from its file's mtime, so this
   * is how a test lets the server's clock run on by hours for one object without waiting.
   */
  age(bucket: string, key: string, when: Date): Promise<void>;
  stop(): Promise<void>;
}

// s3rver ships no type declarations: the little we use, typed here.
interface S3rverInstance {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
interface S3rverAccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

// Scaleway-shaped test credentials (`SCW` + 17 characters, a UUID secret), so code that checks the
// shape accepts them. s3rver keeps its key registry per process.
export const TEST_ACCESS_KEY = 'SCWTESTACCESSKEY0000'; // SCW + 17 characters, as the Scaleway SDK checks
export const TEST_SECRET_KEY = '11111111-2222-4333-8444-555555555555';

type CipherFactory = (algorithm: string, key: Buffer, iv: Buffer | null, options?: unknown) => unknown;

/**
 * s3rver only uses DES to make its continuation tokens opaque. When this Node cannot do DES, route
 * `des` to AES-128-CTR with the 8-byte key and IV zero-padded: the tokens stay opaque and
 * round-trip, and every other algorithm goes through untouched. Process-wide, for test workers only.
 */
function shimDesForS3rver(): void {
  const crypto = require('node:crypto') as Record<string, unknown> & { createCipheriv: CipherFactory; createDecipheriv: CipherFactory };
  if (crypto.__s3rverDesShim) return;
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return; // DES is available: nothing to do
  } catch {
    // fall through
  }
  const pad = (b: Buffer | null): Buffer => Buffer.concat([b ?? Buffer.alloc(0), Buffer.alloc(16)]).subarray(0, 16);
  const wrap = (original: CipherFactory): CipherFactory =>
    (algorithm, key, iv, options) => (algorithm === 'des' ? original('aes-128-ctr', pad(key), pad(iv)) : original(algorithm, key, iv, options));
  crypto.createCipheriv = wrap(crypto.createCipheriv.bind(crypto));
  crypto.createDecipheriv = wrap(crypto.createDecipheriv.bind(crypto));
  crypto.__s3rverDesShim = true;
}

export async function startS3Server(options: { limits?: Partial<S3UploadLimits> } = {}): Promise<S3TestServer> {
  shimDesForS3rver();
  const S3rver = require('s3rver') as S3rverConstructor;
  const accounts = require('s3rver/lib/models/account') as S3rverAccountModule;
  accounts.DUMMY_ACCOUNT.createKeyPair(TEST_ACCESS_KEY, TEST_SECRET_KEY);

  const directory = await mkdtemp(join(tmpdir(), 'scwb-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    resetOnClose: false,
  });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const limits = { ...SCALEWAY_UPLOAD_LIMITS, ...options.limits };
  if (!server.httpServer) throw new Error('s3rver started without an HTTP server');
  const grants = new Map<string, ReadonlySet<string>>();
  const uploads = guardUploads(server.httpServer, limits, grants);
  const endpoint = `http://127.0.0.1:${address.port}`;
  const region = 'fr-par';
  const admin = new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let stopped = false;
  return {
    endpoint,
    accessKeyId: TEST_ACCESS_KEY,
    secretAccessKey: TEST_SECRET_KEY,
    region,
    limits,
    uploads,
    addKey(accessKeyId: string, secretAccessKey: string, permissionSets?: readonly string[]): void {
      accounts.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
      if (permissionSets) grants.set(accessKeyId, new Set(permissionSets));
    },
    async createBucket(name: string): Promise<void> {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    async overwrite(bucket: string, key: string, body: Uint8Array): Promise<void> {
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async age(bucket: string, key: string, when: Date): Promise<void> {
      // s3rver's file layout (lib/stores/filesystem.js, getResourcePath): <dir>/<bucket>/<key>._S3rver_object
      await utimes(`${join(directory, bucket, ...key.split('/'))}._S3rver_object`, when, when);
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      admin.destroy();
      // Keep-alive sockets of clients would hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
