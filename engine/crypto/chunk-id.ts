import { createHmac } from 'node:crypto';
import { loadAddon } from '../native-addon';

export const ID_LENGTH = 32;

/** Blob id = HMAC-SHA256(chunk-id key, plaintext) (RFC 2104; FORMAT.md §5). */
export function chunkId(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function idToHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** native/chunk-id.c */
interface ChunkIdAddon {
  hmacSha256Ranges(key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array): void;
}

/**
 * ids[32*i ..] = chunkId(key, data[starts[i] .. starts[i] + lengths[i]]) for i < count: the ids of
 * a batch of chunks. One call into OpenSSL for the whole batch (native/chunk-id.c) when the addon
 * is built, else one createHmac per chunk; the same bytes either way.
 */
export function chunkIds(key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array): void {
  const addon = loadAddon<ChunkIdAddon>('chunk_id');
  if (addon) addon.hmacSha256Ranges(key, data, starts, lengths, count, ids);
  else chunkIdsInJs(key, data, starts, lengths, count, ids);
}

/** chunkIds without the addon (exported for the test that compares both). */
export function chunkIdsInJs(key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array): void {
  // The addon's checks, so that both paths refuse the same arguments.
  if (count > starts.length || count > lengths.length) throw new RangeError('count is larger than starts or lengths');
  if (count * ID_LENGTH > ids.length) throw new RangeError('ids is shorter than 32 bytes per chunk');
  for (let i = 0; i < count; i++) {
    if (starts[i] + lengths[i] > data.length) throw new RangeError("a chunk's range lies outside data");
  }
  for (let i = 0; i < count; i++) {
    ids.set(chunkId(key, data.subarray(starts[i], starts[i] + lengths[i])), i * ID_LENGTH);
  }
}
