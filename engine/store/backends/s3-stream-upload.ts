/**
 * Upload a byte stream of unknown (or known) length as one S3 object with a multipart upload, in
 * bounded memory and without a temporary file: the stream is cut into parts of `partSize`, each
 * buffered once, at most `partsInFlight` uploading at a time, each retried on its own. On failure
 * the upload is aborted (best effort: a lifecycle rule aborting incomplete uploads reaps the rest).
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand,
  type CompletedPart, type S3Client,
} from '@aws-sdk/client-s3';
import { InvalidInputError } from '../../errors';
import { withRetry, type RetryOptions } from './retry';
import { isRetryableS3Error } from './s3-errors';

const MiB = 1024 * 1024;
/** S3 limits (AWS S3 user guide, "Multipart upload limits"): 5 MiB minimum part, 10 000 parts. */
export const MIN_STREAM_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;
/** Part buffers (in flight + the one filling) stay under this unless one part alone is larger. */
export const MAX_PART_MEMORY = 128 * MiB;

export interface StreamUploadOptions {
  client: S3Client;
  bucket: string;
  key: string;
  body: AsyncIterable<Uint8Array>;
  /** Bytes per part (default 16 MiB, at least 5 MiB; enlarged to fit `expectedSize` in 10 000 parts). */
  partSize?: number;
  /** The stream's length when known, to size the parts. */
  expectedSize?: number;
  /**
   * Parts uploading at once (default 3, between 1 and 4). Memory is (this + 1) × partSize, so large
   * parts (a 1 TB image needs parts of ≥ 100 MiB to fit in 10 000) lower it to keep that within
   * MAX_PART_MEMORY.
   */
  partsInFlight?: number;
  retry?: Omit<RetryOptions, 'isRetryable'>;
  /** Extra fields for CreateMultipartUpload / PutObject (Object Lock, content type). */
  objectFields?: { ContentType?: string; ObjectLockMode?: 'GOVERNANCE'; ObjectLockRetainUntilDate?: Date };
  /** Told after each part is stored, with the bytes stored so far. */
  onProgress?: (bytesUploaded: number) => void;
}

export interface StreamUploadResult {
  size: number;
  parts: number;
}

/** Part size and parts in flight for a stream of `expectedSize` bytes (see StreamUploadOptions). */
export function planParts(o: Pick<StreamUploadOptions, 'partSize' | 'expectedSize' | 'partsInFlight'>): { partSize: number; inFlight: number } {
  let partSize = Math.max(MIN_STREAM_PART_SIZE, o.partSize ?? 16 * MiB);
  if (o.expectedSize !== undefined) partSize = Math.max(partSize, Math.ceil(o.expectedSize / MAX_PARTS));
  const wanted = Math.min(4, Math.max(1, o.partsInFlight ?? 3));
  return { partSize, inFlight: Math.max(1, Math.min(wanted, Math.floor(MAX_PART_MEMORY / partSize) - 1)) };
}

export async function uploadStream(o: StreamUploadOptions): Promise<StreamUploadResult> {
  const { partSize, inFlight } = planParts(o);
  const retry: RetryOptions = { ...o.retry, isRetryable: isRetryableS3Error };
  const send = <T>(fn: () => Promise<T>): Promise<T> => withRetry(fn, retry);

  const iterator = o.body[Symbol.asyncIterator]();
  let pending: Uint8Array | undefined; // the rest of a piece that did not fit the last part
  let ended = false;
  /** Fill a fresh part buffer from the stream; undefined at the end of the stream. */
  const nextPart = async (): Promise<Buffer | undefined> => {
    const buf = Buffer.allocUnsafe(partSize);
    let filled = 0;
    while (filled < partSize) {
      if (!pending || pending.length === 0) {
        if (ended) break;
        const r = await iterator.next();
        if (r.done) {
          ended = true;
          break;
        }
        pending = r.value;
        continue;
      }
      const n = Math.min(pending.length, partSize - filled);
      buf.set(pending.subarray(0, n), filled);
      filled += n;
      pending = pending.subarray(n);
    }
    return filled === 0 ? undefined : buf.subarray(0, filled);
  };

  const first = await nextPart();
  if (!first || first.length < partSize) {
    // Small or empty object: one PUT, no multipart to abort.
    const body = first ?? Buffer.alloc(0);
    await send(() => o.client.send(new PutObjectCommand({
      Bucket: o.bucket, Key: o.key, Body: body, ContentLength: body.length, ContentMD5: md5(body), ...o.objectFields,
    })));
    o.onProgress?.(body.length);
    return { size: body.length, parts: 1 };
  }

  const created = await send(() => o.client.send(new CreateMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, ...o.objectFields })));
  const uploadId = created.UploadId;
  if (!uploadId) throw new InvalidInputError(`s3://${o.bucket}/${o.key}`, 'CreateMultipartUpload returned no UploadId');
  const parts: CompletedPart[] = [];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let uploaded = 0;
  let size = 0;
  try {
    let part: Buffer | undefined = first;
    let number = 0;
    while (part && !failure) {
      if (number >= MAX_PARTS) throw new InvalidInputError(`s3://${o.bucket}/${o.key}`, `needs more than ${MAX_PARTS} parts of ${partSize} bytes: pass expectedSize or a larger partSize`);
      const body = part;
      const partNumber = ++number;
      size += body.length;
      const job = send(() => o.client.send(new UploadPartCommand({
        Bucket: o.bucket, Key: o.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length, ContentMD5: md5(body),
      }))).then((res) => {
        parts.push({ PartNumber: partNumber, ETag: res.ETag });
        uploaded += body.length;
        o.onProgress?.(uploaded);
      }, (error: unknown) => {
        failure ??= { error };
      });
      const tracked: Promise<void> = job.finally(() => running.delete(tracked));
      running.add(tracked);
      if (running.size >= inFlight) await Promise.race(running);
      if (failure) break;
      part = await nextPart();
    }
    await Promise.all(running);
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await send(() => o.client.send(new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
    return { size, parts: parts.length };
  } catch (err) {
    await Promise.allSettled(running);
    await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId })).catch(() => undefined);
    // Stop the producer too (a SnapshotSource holding packs, a generator with finally blocks).
    await iterator.return?.().catch(() => undefined);
    throw err;
  }
}

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}
