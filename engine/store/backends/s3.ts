import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart } from '@aws-sdk/client-s3';
import { DamagedObjectError, InvalidInputError, NotFoundError, ObjectExistsError } from '../../errors';
import type { Backend, ByteRange, ObjectInfo } from '../backend';
import { withRetry } from './retry';
import { multipartEtag, readBody } from './s3-body';
import { uploadRanged, type RangeProducer } from './s3-ranged-upload';
import { DEFAULT_PART_SIZE, SCALEWAY_MULTIPART, partSizeFor, type MultipartLimits } from './s3-limits';
import type { RetryOptions } from './retry';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, resolveS3Config } from './s3-config';
import type { S3ResolvedConfig, S3UrlOptions } from './s3-config';
import {
  S3BucketNotFoundError, isNotFound, isPreconditionFailed, isRetryableS3Error, s3Code, translateS3Error,
} from './s3-errors';
import type { S3ErrorContext } from './s3-errors';

export { parseS3Url, resolveS3Config, DEFAULT_REGION } from './s3-config';
export type { S3UrlOptions, S3ResolvedConfig } from './s3-config';
export * from './s3-errors';
export { multipartEtag } from './s3-body';
export { DEFAULT_PART_SIZE, ObjectTooLargeError, SCALEWAY_MULTIPART, type MultipartLimits } from './s3-limits';
export type { RangeProducer } from './s3-ranged-upload';

const MiB = 1024 * 1024;
/** Above this an object goes up in parts; the store's packs (~16 MiB) stay single PUTs. */
export const DEFAULT_MULTIPART_THRESHOLD = 64 * MiB;
export const DEFAULT_CONCURRENCY = 8;
const PARTS_IN_FLIGHT = 4;

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix of the store inside the bucket, without leading or trailing `/` ('' for the root). */
  prefix?: string;
  /** Configure it with maxAttempts: 1 so that only this backend's retries run (s3BackendFromUrl does). */
  client: S3Client;
  /** For messages only. */
  endpoint?: string;
  region?: string;
  /** Requests in flight at once from this backend (default 8). */
  concurrency?: number;
  retry?: Omit<RetryOptions, 'isRetryable'>;
  multipartThreshold?: number;
  partSize?: number;
  /** What the server accepts in a multipart upload (default Scaleway's: 1000 parts of 5 MiB-5 GB). */
  limits?: MultipartLimits;
  /** Object Lock: every new object gets GOVERNANCE retention until this date (the bucket must have Object Lock). */
  retainUntil?: Date;
  /** Keys per ListObjectsV2 page (default 1000; small values only for tests). */
  listPageSize?: number;
  /** close() destroys the client (true when the backend made the client itself). */
  ownsClient?: boolean;
  /**
   * Send `If-None-Match: *` on writes (default true). A server that answers 501 NotImplemented to
   * it is remembered and written to without it (the HEAD before each write still guards).
   */
  conditionalWrites?: boolean;
}

interface Head {
  size: number;
  etag?: string;
  modified?: Date;
}

/** At most `limit` calls run at once; the others wait their turn in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next caller
      else this.active--;
    }
  }
}

/**
 * The store in an S3 bucket (Scaleway Object Storage in production) under a key prefix. Objects are
 * never overwritten: each put checks with HEAD and sends `If-None-Match: *`, and a put retried after
 * a lost answer counts as done when the object now there has our bytes. Every request goes through a
 * bounded number of slots and our own retry policy (see docs/S3.md).
 */
export class S3Backend implements Backend {
  readonly location: string;
  private readonly bucket: string;
  private readonly root: string;
  private readonly client: S3Client;
  private readonly slots: Semaphore;
  private readonly retry: RetryOptions;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly limits: MultipartLimits;
  private readonly lock: { ObjectLockMode: 'GOVERNANCE'; ObjectLockRetainUntilDate: Date } | Record<string, never>;
  private readonly pageSize: number;
  private readonly endpoint: string;
  private readonly region: string;
  private bucketChecked = false;
  private conditional: boolean;

  constructor(private readonly options: S3BackendOptions) {
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix.split('/').some((p) => p === '.' || p === '..') || prefix.includes('//')) {
      throw new InvalidInputError('S3 prefix', `${JSON.stringify(options.prefix)} is not a usable key prefix`);
    }
    this.bucket = options.bucket;
    this.root = prefix ? `${prefix}/` : '';
    this.location = `s3://${options.bucket}/${prefix}`;
    this.client = options.client;
    this.slots = new Semaphore(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
    this.retry = { ...options.retry, isRetryable: isRetryableS3Error };
    this.threshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.limits = options.limits ?? SCALEWAY_MULTIPART;
    this.partSize = Math.max(this.limits.minPartSize, options.partSize ?? DEFAULT_PART_SIZE);
    this.lock = options.retainUntil ? { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: options.retainUntil } : {};
    this.pageSize = options.listPageSize ?? 1000;
    this.endpoint = options.endpoint ?? 'the S3 endpoint';
    this.region = options.region ?? 'unknown';
    this.conditional = options.conditionalWrites ?? true;
  }

  /** Send a write with `If-None-Match: *`, or without it once the server has said it cannot do that. */
  private async conditionalSend(send: (ifNoneMatch: '*' | undefined) => Promise<unknown>): Promise<void> {
    if (!this.conditional) {
      await send(undefined);
      return;
    }
    try {
      await send('*');
    } catch (err) {
      if (s3Code(err) !== 'NotImplemented') throw err;
      this.conditional = false;
      await send(undefined);
    }
  }

  private key(path: string): string {
    if (path === '' || path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new InvalidInputError('object path', `${JSON.stringify(path)} is not a relative object path`);
    }
    return this.root + path;
  }

  private ctx(op: S3ErrorContext['op'], path?: string): S3ErrorContext {
    return { bucket: this.bucket, endpoint: this.endpoint, region: this.region, location: this.location, op, path };
  }

  /** One request: waits for a slot, retried on transient failures (the slot is freed while backing off). */
  private request<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(() => this.slots.run(fn), this.retry);
  }

  async get(path: string, range?: ByteRange): Promise<Uint8Array> {
    const key = this.key(path);
    if (range && (range.offset < 0 || range.length < 0 || !Number.isInteger(range.offset) || !Number.isInteger(range.length))) {
      throw new InvalidInputError('byte range', `${range.offset}+${range.length} of ${path} is not a valid range`);
    }
    if (range && range.length === 0) {
      // `bytes=a-(a-1)` is not a valid Range header: answer from the object's size.
      const info = await this.stat(path);
      if (!info) throw new NotFoundError(`${path} does not exist in ${this.location}`);
      if (range.offset > info.size) throw new DamagedObjectError(path, `is ${info.size} bytes, cannot read 0 bytes at ${range.offset}`);
      return new Uint8Array(0);
    }
    const signal = range?.signal;
    try {
      signal?.throwIfAborted();
      return await withRetry(() => this.slots.run(async () => {
        signal?.throwIfAborted();
        const res = await this.client.send(new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
        }), { abortSignal: signal });
        return readBody(res.Body, res.ContentLength, range, res.ContentRange, path);
      }), { ...this.retry, isRetryable: (e) => !signal?.aborted && isRetryableS3Error(e) });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (isNotFound(err)) throw new NotFoundError(`${path} does not exist in ${this.location}`);
      if (s3Code(err) === 'InvalidRange' && range) {
        throw new DamagedObjectError(path, `is shorter than ${range.offset + range.length} bytes (cannot read ${range.length} bytes at ${range.offset})`);
      }
      throw translateS3Error(err, this.ctx('get', path));
    }
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    const key = this.key(path);
    const md5 = createHash('md5').update(data).digest();
    let writesSent = 0;
    try {
      await withRetry(async () => {
        // After a write whose answer we did not get, the object there may be our own.
        const mayBeOurs = writesSent > 0;
        const existing = await this.slots.run(() => this.head(key));
        if (existing) return this.settleExisting(path, key, existing, data, md5, mayBeOurs);
        writesSent++;
        try {
          if (data.byteLength > this.threshold) await this.putMultipart(path, key, data, md5);
          else await this.slots.run(() => this.putSingle(key, data, md5));
        } catch (err) {
          if (!isPreconditionFailed(err)) throw err;
          const now = await this.slots.run(() => this.head(key));
          return this.settleExisting(path, key, now ?? { size: -1 }, data, md5, mayBeOurs);
        }
      }, this.retry);
    } catch (err) {
      throw translateS3Error(err, this.ctx('put', path));
    }
  }

  /**
   * Store an object of `length` bytes that `read` produces for any range (multipart within the
   * limits, in bounded memory whatever the part size; see s3-ranged-upload.ts). Unlike put(), it does
   * not guard against overwriting: for staging objects whose names we choose, never for the store's
   * own objects.
   */
  async putRanged(path: string, length: number, read: RangeProducer, options: { onProgress?: (bytes: number) => void; signal?: AbortSignal } = {}): Promise<void> {
    const key = this.key(path);
    try {
      await uploadRanged({
        client: this.client, bucket: this.bucket, key, length, read, limits: this.limits, partSize: this.partSize, retry: this.options.retry,
        onProgress: options.onProgress, signal: options.signal, objectFields: { ...this.lock },
      });
    } catch (err) {
      if (options.signal?.aborted && err === options.signal.reason) throw err;
      throw translateS3Error(err, this.ctx('put', path));
    }
  }

  private async putSingle(key: string, data: Uint8Array, md5: Buffer): Promise<void> {
    // Content-MD5 lets the server reject bytes damaged on the way (and Object Lock puts require it).
    await this.conditionalSend((IfNoneMatch) => this.client.send(new PutObjectCommand({
      Bucket: this.bucket, Key: key, Body: data, ContentLength: data.byteLength,
      ContentMD5: md5.toString('base64'), IfNoneMatch, ...this.lock,
    })));
  }

  /** The path exists: success when it may be our own earlier write and holds our bytes, else ObjectExistsError. */
  private async settleExisting(path: string, key: string, existing: Head, data: Uint8Array, md5: Buffer, mayBeOurs: boolean): Promise<void> {
    if (mayBeOurs && await this.sameContent(key, existing, data, md5)) return;
    throw new ObjectExistsError(`${path} in ${this.location}`);
  }

  private async sameContent(key: string, existing: Head, data: Uint8Array, md5: Buffer): Promise<boolean> {
    if (existing.size !== data.byteLength) return false;
    const etag = existing.etag?.replace(/"/g, '').toLowerCase();
    if (etag === md5.toString('hex')) return true;
    if (etag && etag === multipartEtag(data, this.partSizeFor(data.byteLength))) return true;
    // An ETag that is not an MD5 (encryption, other part sizes): compare the bytes themselves.
    const stored = await this.request(async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return readBody(res.Body, res.ContentLength, undefined, undefined, key);
    });
    return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).equals(data);
  }

  private partSizeFor(size: number): number {
    return partSizeFor(size, this.limits, this.partSize, `${size}-byte object`);
  }

  private async putMultipart(path: string, key: string, data: Uint8Array, md5: Buffer): Promise<void> {
    const created = await this.request(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...this.lock })));
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload for ${key} returned no UploadId`);
    try {
      const partSize = this.partSizeFor(data.byteLength);
      const count = Math.ceil(data.byteLength / partSize);
      const parts: CompletedPart[] = new Array(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          const body = data.subarray(i * partSize, Math.min(data.byteLength, (i + 1) * partSize));
          const contentMd5 = createHash('md5').update(body).digest('base64');
          const res = await this.request(() => this.client.send(new UploadPartCommand({
            Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body,
            ContentLength: body.byteLength, ContentMD5: contentMd5,
          })));
          parts[i] = { PartNumber: i + 1, ETag: res.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, count) }, worker));
      let completes = 0;
      try {
        await this.request(() => {
          completes++;
          return this.conditionalSend((IfNoneMatch) => this.client.send(new CompleteMultipartUploadCommand({
            Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, IfNoneMatch,
          })));
        });
      } catch (err) {
        // Complete was repeated, so an earlier one may have worked with its answer lost: servers then
        // say NoSuchUpload, PreconditionFailed or worse. What is at the key now decides.
        if (completes > 1) {
          const now = await this.slots.run(() => this.head(key)).catch(() => undefined);
          if (now) return await this.settleExisting(path, key, now, data, md5, true);
        }
        throw err;
      }
    } catch (err) {
      // Best effort: a lifecycle rule on the bucket reaps what this leaves behind.
      await this.slots.run(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })))
        .catch(() => undefined);
      throw err;
    }
  }

  /** HEAD without retries or translation: undefined when the key is missing. */
  private async head(key: string): Promise<Head | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: res.ContentLength ?? 0, etag: res.ETag, modified: res.LastModified };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async *list(dir: string): AsyncIterable<ObjectInfo> {
    const prefix = dir === '' ? this.root : `${this.key(dir.replace(/\/+$/, ''))}/`;
    let token: string | undefined;
    do {
      const page = await this.request(() => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.pageSize,
      }))).catch((err: unknown) => {
        throw translateS3Error(err, this.ctx('list', dir));
      });
      for (const object of page.Contents ?? []) {
        // Keys ending in `/` are folder markers made by consoles, not objects of ours.
        if (!object.Key || object.Key.endsWith('/') || !object.Key.startsWith(this.root)) continue;
        yield { path: object.Key.slice(this.root.length), size: object.Size ?? 0, modified: object.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    try {
      await this.request(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (err) {
      if (isNotFound(err)) return;
      throw translateS3Error(err, this.ctx('delete', path));
    }
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    const key = this.key(path);
    try {
      const head = await this.request(() => this.head(key));
      if (head) return { path, size: head.size, modified: head.modified };
      await this.checkBucket();
      return undefined;
    } catch (err) {
      throw translateS3Error(err, this.ctx('stat', path));
    }
  }

  /**
   * The server's clock: the `Date` header of its answer to a one-key listing of `locks/` (RFC 9110
   * §6.6.1: the origin server's time when it made the answer; every S3 answer carries it). It is the
   * clock that stamps `LastModified`, at one-second resolution as both are. A server that sends no
   * Date leaves us this machine's clock.
   */
  async now(): Promise<Date> {
    const command = new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.root}locks/`, MaxKeys: 1 });
    let date: string | undefined;
    command.middlewareStack.add((next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> }).headers;
      date = headers?.date ?? headers?.Date;
      return result;
    }, { step: 'deserialize', name: 'scwBackupServerDate' });
    await this.request(() => this.client.send(command)).catch((err: unknown) => {
      throw translateS3Error(err, this.ctx('list', 'locks'));
    });
    const parsed = date === undefined ? Number.NaN : Date.parse(date);
    return Number.isNaN(parsed) ? new Date() : new Date(parsed);
  }

  /** A HEAD answers a bare 404 for a missing bucket too: tell the two apart once. */
  private async checkBucket(): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.request(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
    } catch (err) {
      if (isNotFound(err) || s3Code(err) === 'NoSuchBucket') throw new S3BucketNotFoundError(this.ctx('stat'), { cause: err });
      throw err;
    }
    this.bucketChecked = true;
  }

  async close(): Promise<void> {
    if (this.options.ownsClient) this.client.destroy();
  }
}

/** The S3Client the backend wants: one attempt per send (our retry runs), checksums only when required. */
const quiet = (): void => undefined;
const SILENT_LOGGER = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

export function makeS3Client(config: S3ResolvedConfig, options: S3UrlOptions = {}): S3Client {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const agentOptions = { keepAlive: true, maxSockets: concurrency };
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    maxAttempts: 1,
    // Default checksum mode sends streamed bodies aws-chunked, which some S3-compatible servers store
    // verbatim (DESIGN.md, platform notes); we send Content-MD5 ourselves instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    followRegionRedirects: false,
    // The SDK's retry step writes "An error was encountered in a non-retryable streaming request." to
    // the console for every failed streamed request (a part of a ranged upload that we send again
    // ourselves, @smithy/core retry middleware); errors reach the caller typed, so its log stays quiet.
    logger: SILENT_LOGGER,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      socketTimeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  });
}

/** An S3Backend for `s3://BUCKET/PREFIX`, with its own client (closed by backend.close()). */
export function s3BackendFromUrl(url: string, options: S3UrlOptions = {}): S3Backend {
  const config = resolveS3Config(url, options);
  const backendOptions: S3BackendOptions = {
    bucket: config.bucket,
    prefix: config.prefix,
    client: makeS3Client(config, options),
    endpoint: config.endpoint,
    region: config.region,
    concurrency: options.concurrency,
    retry: options.retry,
    multipartThreshold: options.multipartThreshold,
    partSize: options.partSize,
    limits: options.limits,
    retainUntil: options.retainUntil,
    listPageSize: options.listPageSize,
    ownsClient: true,
  };
  return new S3Backend(backendOptions);
}
