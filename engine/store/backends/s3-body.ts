/**
 * Bytes on the wire for the S3 backend: reading a GetObject body into one buffer, checked against
 * the range asked for, and the ETag S3 gives a multipart object.
 */
import { createHash } from 'node:crypto';
import { DamagedObjectError } from '../../errors';
import type { ByteRange } from '../backend';

/** S3's ETag of a multipart object: MD5 of the parts' MD5s, `-` and the part count. */
export function multipartEtag(data: Uint8Array, partSize: number): string {
  const outer = createHash('md5');
  let parts = 0;
  for (let offset = 0; offset < data.byteLength; offset += partSize, parts++) {
    outer.update(createHash('md5').update(data.subarray(offset, offset + partSize)).digest());
  }
  return `${outer.digest('hex')}-${parts}`;
}

/** A body ended before its Content-Length: the connection broke, worth a retry. */
export class ShortBodyError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Read a GetObject body into one buffer allocated up front, or the caller's `range.into` (no chunk
 * list, no concat), checking
 * that the server sent what was asked for. A server that answers more than the range (the whole
 * object, or a longer span: s3rver does for `bytes=0-0`) still yields exactly the range.
 */
export async function readBody(body: unknown, contentLength: number | undefined, range: ByteRange | undefined,
  contentRange: string | undefined, path: string): Promise<Uint8Array> {
  const stream = body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  const m = contentRange ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange) : null;
  const spanStart = m ? Number(m[1]) : 0;
  const spanLength = contentLength ?? (m ? Number(m[2]) - Number(m[1]) + 1 : undefined);
  let skip = 0;
  if (range) {
    const total = m ? m[3] : spanLength;
    if (spanStart > range.offset) {
      stream?.destroy?.();
      throw new DamagedObjectError(path, `server answered bytes from ${spanStart} for a read at ${range.offset}`);
    }
    if (spanLength !== undefined && spanStart + spanLength < range.offset + range.length) {
      stream?.destroy?.();
      throw new DamagedObjectError(path, `is ${total ?? '?'} bytes, cannot read ${range.length} bytes at ${range.offset}`);
    }
    skip = range.offset - spanStart;
  }
  const expected = range ? range.length : spanLength;
  if (!stream) {
    if (!expected) return new Uint8Array(0);
    throw new ShortBodyError(`empty body for ${path}, expected ${expected} bytes`);
  }
  if (expected === undefined) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
  const into = range?.into;
  const out = into && into.length >= expected ? Buffer.from(into.buffer, into.byteOffset, expected) : Buffer.allocUnsafe(expected);
  let done = 0;
  for await (const chunk of stream) {
    let piece = chunk;
    if (skip > 0) {
      const dropped = Math.min(skip, piece.byteLength);
      piece = piece.subarray(dropped);
      skip -= dropped;
    }
    const take = Math.min(piece.byteLength, expected - done);
    out.set(piece.subarray(0, take), done);
    done += take;
    if (done === expected) break; // the rest, if any, is not ours: leaving the loop drops it
  }
  if (done !== expected) throw new ShortBodyError(`body of ${path} ended after ${done} of ${expected} bytes`);
  return out;
}
