import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';

/** FORMAT.md §4: nonce (12) || AES-256-GCM ciphertext || tag (16). */
export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
export const SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH;

/** Purpose strings bound as associated data (FORMAT.md §4). */
export const AAD = {
  packHeader: Buffer.from('scw-backup pack-header v1'),
  index: Buffer.from('scw-backup index v1'),
  snapshot: Buffer.from('scw-backup snapshot v1'),
  lock: Buffer.from('scw-backup lock v1'),
} as const;

const BLOB_AAD_PREFIX = Buffer.from('scw-backup blob v1');

export function blobAad(type: number, id: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(BLOB_AAD_PREFIX.length + 1 + id.length);
  BLOB_AAD_PREFIX.copy(aad, 0);
  aad[BLOB_AAD_PREFIX.length] = type;
  aad.set(id, BLOB_AAD_PREFIX.length + 1);
  return aad;
}

/** Seal the concatenation of `parts` (so a header byte need not be copied in front of the data). */
export function seal(key: Uint8Array, aad: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  const nonce = randomFillSync(Buffer.allocUnsafe(NONCE_LENGTH));
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const chunks: Buffer[] = [nonce];
  for (const p of parts) chunks.push(cipher.update(p));
  chunks.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(chunks);
}

/** Open a sealed object; returns undefined when authentication fails (the caller names the object). */
export function open(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < SEAL_OVERHEAD) return undefined;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, NONCE_LENGTH));
  decipher.setAAD(aad);
  decipher.setAuthTag(buf.subarray(buf.length - TAG_LENGTH));
  const out = decipher.update(buf.subarray(NONCE_LENGTH, buf.length - TAG_LENGTH));
  try {
    decipher.final();
  } catch {
    // GCM tag mismatch: the only failure final() reports; the caller turns it into a typed error.
    return undefined;
  }
  return out;
}
