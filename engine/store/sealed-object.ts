import { COMPRESSION_NONE, COMPRESSION_ZSTD, Compressor, Decompressor } from '../compress';
import type { Sealer } from '../crypto/seal';
import { DamagedObjectError } from '../errors';

/** Sealed objects hold at most this much plaintext (index files, snapshots, locks, pack headers). */
export const MAX_OBJECT_PLAINTEXT = 1 << 30;

const NONE = Uint8Array.of(COMPRESSION_NONE);
const ZSTD = Uint8Array.of(COMPRESSION_ZSTD);

/** FORMAT.md §4: compression byte || payload, compressed when it helps, then sealed. */
export function sealObject(sealer: Sealer, aad: Uint8Array, payload: Uint8Array, compressor: Compressor): Buffer {
  const packed = compressor.compress(payload);
  return packed ? sealer.seal(aad, [ZSTD, packed]) : sealer.seal(aad, [NONE, payload]);
}

export function openObject(sealer: Sealer, aad: Uint8Array, sealed: Uint8Array, name: string, decompressor: Decompressor): Buffer {
  const plain = sealer.open(aad, sealed);
  if (!plain) throw new DamagedObjectError(name, 'authentication failed (truncated, modified, or not an object of this repository)');
  if (plain.length < 1) throw new DamagedObjectError(name, 'empty plaintext');
  const body = plain.subarray(1);
  if (plain[0] === COMPRESSION_NONE) return body;
  if (plain[0] === COMPRESSION_ZSTD) {
    try {
      return decompressor.decompressFrame(body, MAX_OBJECT_PLAINTEXT);
    } catch (err) {
      throw new DamagedObjectError(name, `bad zstd payload: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new DamagedObjectError(name, `unknown compression byte ${plain[0]}`);
}
