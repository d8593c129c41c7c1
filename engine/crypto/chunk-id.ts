import { createHmac } from 'node:crypto';

export const ID_LENGTH = 32;

/** Blob id = HMAC-SHA256(chunk-id key, plaintext) (RFC 2104; FORMAT.md §5). */
export function chunkId(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function idToHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
