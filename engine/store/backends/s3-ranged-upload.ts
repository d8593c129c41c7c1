/**
 * Upload an object of known length whose bytes can be produced for any range, as a multipart upload
 * within Object Storage's limits (s3-limits.ts), in bounded memory whatever the part size: each part
 * is a stream of `read(start, end)` with its exact Content-Length, so a part of 1 GB (a 1 TB image in
 * 1000 parts) holds no more memory than one of 5 MiB, and a part that must be sent again is produced
 * again rather than kept. Each part's MD5 is computed as it streams and checked against the ETag the
 * server answers (the MD5 of what it stored, when the ETag is one). On failure or a stop request the
 * upload is aborted (best effort: a lifecycle rule aborting incomplete uploads reaps the rest).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand,
  UploadPartCommand, type CompletedPart, type S3Client,
} from '@aws-sdk/client-s3';
import { abortableSleep } from '../../abort';
import { withRetry, type RetryOptions } from './retry';
import { isRetryableS3Error } from './s3-errors';
import { DEFAULT_PART_SIZE, SCALEWAY_MULTIPART, partSizeFor, type MultipartLimits } from './s3-limits';

/** Parts uploading at once by default; each holds about two pieces of its producer. */
const PARTS_IN_FLIGHT = 3;
const MAX_PARTS_IN_FLIGHT = 4;

/** Bytes [start, end) of the object, in pieces (at most a few MiB each); callable again for a retry. */
export type RangeProducer = (start: number, end: number) => AsyncIterable<Uint8Array>;

export interface RangedUploadOptions {
  client: S3Client;
  bucket: string;
  key: string;
  length: number;
  read: RangeProducer;
  limits?: MultipartLimits;
  /** Preferred part size (default 16 MiB); larger when the object needs it to fit in limits.maxParts. */
  partSize?: number;
  /** Parts uploading at once (default 3, at most 4). */
  partsInFlight?: number;
  retry?: Omit<RetryOptions, 'isRetryable' | 'sleep'>;
  /** Extra fields for CreateMultipartUpload / PutObject (Object Lock, content type). */
  objectFields?: { ContentType?: string; ObjectLockMode?: 'GOVERNANCE'; ObjectLockRetainUntilDate?: Date };
  /** Bytes sent so far (a part sent again counts once). */
  onProgress?: (bytesUploaded: number) => void;
  /** Stops the upload: requests in flight are cut, the upload aborted, and the signal's reason thrown. */
  signal?: AbortSignal;
}

export interface RangedUploadResult {
  size: number;
  parts: number;
  partSize: number;
}

/** The server stored other bytes than we sent (its ETag is not the MD5 we computed): send the part again. */
export class PartDigestMismatchError extends Error {
  /** Read by isRetryableS3Error as S3's own BadDigest. */
  readonly Code = 'BadDigest';
  constructor(key: string, part: number, expected: string, got: string) {
    super(`part ${part} of ${key}: the server stored MD5 ${got}, we sent ${expected}`);
    this.name = 'BadDigest';
  }
}

export async function uploadRanged(o: RangedUploadOptions): Promise<RangedUploadResult> {
  const limits = o.limits ?? SCALEWAY_MULTIPART;
  const partSize = partSizeFor(o.length, limits, o.partSize ?? DEFAULT_PART_SIZE, `s3://${o.bucket}/${o.key}`);
  o.signal?.throwIfAborted();
  // A failed part stops the others at once (a 1 GB part is not worth finishing for an upload that failed).
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  const retry: RetryOptions = {
    ...o.retry,
    isRetryable: (err) => !signal.aborted && isRetryableS3Error(err),
    sleep: (ms) => abortableSleep(ms, signal),
  };
  const send = <T>(fn: () => Promise<T>): Promise<T> => withRetry(fn, retry);
  const progress = new Progress(o.onProgress);

  if (o.length <= partSize) {
    // One part's worth or less: a single PUT with Content-MD5, buffered (at most one part size).
    const body = await collect(o.read(0, o.length), o.length);
    await send(() => o.client.send(new PutObjectCommand({
      Bucket: o.bucket, Key: o.key, Body: body, ContentLength: body.length, ContentMD5: createHash('md5').update(body).digest('base64'), ...o.objectFields,
    }), { abortSignal: signal }));
    progress.set(0, body.length);
    return { size: body.length, parts: 1, partSize };
  }

  const created = await send(() => o.client.send(new CreateMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, ...o.objectFields }), { abortSignal: signal }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload of s3://${o.bucket}/${o.key} returned no UploadId`);
  const count = Math.ceil(o.length / partSize);
  const parts: CompletedPart[] = new Array(count);
  try {
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < count && !failed) {
        const n = next++;
        const start = n * partSize;
        const end = Math.min(o.length, start + partSize);
        try {
          parts[n] = await send(() => sendPart(o, uploadId, n + 1, start, end, progress, signal));
        } catch (err) {
          if (!failed) stop.abort(err);
          failed = true;
          throw err;
        }
      }
    };
    const inFlight = Math.max(1, Math.min(MAX_PARTS_IN_FLIGHT, o.partsInFlight ?? PARTS_IN_FLIGHT, count));
    await Promise.allSettled(Array.from({ length: inFlight }, worker));
    signal.throwIfAborted();
    await complete(o, uploadId, parts, retry);
    return { size: o.length, parts: count, partSize };
  } catch (err) {
    await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId })).catch(() => undefined);
    // A stop request's reason (InterruptedError), or the first part's failure, over the aborts it caused.
    throw o.signal?.aborted ? o.signal.reason : signal.aborted ? signal.reason : err;
  }
}

/** One attempt at one part: stream its bytes, then hold the server's ETag against their MD5. */
async function sendPart(
  o: RangedUploadOptions, uploadId: string, partNumber: number, start: number, end: number, progress: Progress, signal: AbortSignal,
): Promise<CompletedPart> {
  const md5 = createHash('md5');
  let sent = 0;
  let producerError: { error: unknown } | undefined;
  // A producer that fails must cut the request too: it would otherwise wait for the rest of its bytes.
  const cut = new AbortController();
  async function* counted(): AsyncGenerator<Uint8Array> {
    try {
      for await (const piece of o.read(start, end)) {
        md5.update(piece);
        sent += piece.length;
        progress.set(partNumber, sent);
        yield piece;
      }
    } catch (error) {
      producerError = { error };
      cut.abort(error);
      throw error;
    }
  }
  progress.set(partNumber, 0);
  // Byte mode with a small high-water mark: the stream pulls one piece ahead of the socket, no more.
  const body = Readable.from(counted(), { objectMode: false, highWaterMark: 64 * 1024 });
  // Its error is the producer's, kept in producerError and thrown below; the request may be gone by then.
  body.on('error', () => undefined);
  let res;
  try {
    res = await o.client.send(new UploadPartCommand({
      Bucket: o.bucket, Key: o.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: end - start,
    }), { abortSignal: AbortSignal.any([signal, cut.signal]) });
  } catch (err) {
    body.destroy();
    // What the producer threw (a damaged chunk in the store) is the error, not the request it cut.
    if (producerError) throw producerError.error;
    throw err;
  }
  if (sent !== end - start) throw new Error(`part ${partNumber} of ${o.key}: the producer gave ${sent} bytes for a ${end - start}-byte range`);
  const etag = res.ETag?.replace(/"/g, '').toLowerCase();
  const digest = md5.digest('hex');
  if (etag !== undefined && /^[0-9a-f]{32}$/.test(etag) && etag !== digest) throw new PartDigestMismatchError(o.key, partNumber, digest, etag);
  return { PartNumber: partNumber, ETag: res.ETag };
}

/**
 * CompleteMultipartUpload, retried; a repeat after a lost answer may be told the upload no longer
 * exists: then an object of our length at the key means the first one worked.
 */
async function complete(o: RangedUploadOptions, uploadId: string, parts: CompletedPart[], retry: RetryOptions): Promise<void> {
  let attempts = 0;
  try {
    await withRetry(() => {
      attempts++;
      return o.client.send(new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    }, retry);
  } catch (err) {
    if (attempts > 1) {
      const head = await o.client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: o.key })).catch(() => undefined);
      if (head?.ContentLength === o.length) return;
    }
    throw err;
  }
}

/** Read a small range whole (the single-PUT case). */
async function collect(pieces: AsyncIterable<Uint8Array>, length: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const piece of pieces) {
    if (at + piece.length > length) throw new Error(`the producer gave more than the ${length} bytes asked for`);
    out.set(piece, at);
    at += piece.length;
  }
  if (at !== length) throw new Error(`the producer gave ${at} bytes, not ${length}`);
  return out;
}

/** Bytes sent per part, summed: a part sent again starts from 0 again. */
class Progress {
  private readonly perPart = new Map<number, number>();
  private total = 0;
  constructor(private readonly callback: ((bytes: number) => void) | undefined) {}

  set(part: number, bytes: number): void {
    this.total += bytes - (this.perPart.get(part) ?? 0);
    this.perPart.set(part, bytes);
    this.callback?.(this.total);
  }
}
