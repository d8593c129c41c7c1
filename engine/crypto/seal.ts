import { createCipheriv, createDecipheriv, randomFillSync, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { XAES_NONCE_LENGTH, XaesKeyDerivation } from './xaes';

/**
 * FORMAT.md §4: sealed = nonce || AES-256-GCM ciphertext || tag (16). The store's format version
 * decides the nonce: version 1 uses AES-256-GCM with a random 12-byte nonce under the store's key
 * (collision bound 2^-32 after 2^32 sealings); version 2 uses XAES-256-GCM (C2SP) with a random
 * 24-byte nonce, whose first half derives a fresh AES-256-GCM key for every object (2^80 sealings at
 * the same bound): no practical limit on what one store can hold.
 */
export const TAG_LENGTH = 16;
const V1_NONCE_LENGTH = 12;
/** The largest overhead of any version: buffers sized for sealed data of any store use it. */
export const MAX_SEAL_OVERHEAD = XAES_NONCE_LENGTH + TAG_LENGTH;

export type SealVersion = 1 | 2;

/** Purpose strings bound as associated data (FORMAT.md §4), the same in both versions. */
export const AAD = {
  packHeader: Buffer.from('scw-backup pack-header v1'),
  index: Buffer.from('scw-backup index v1'),
  snapshot: Buffer.from('scw-backup snapshot v1'),
  lock: Buffer.from('scw-backup lock v1'),
  /** Version 2 only (FORMAT.md §7.1, §8.2). */
  indexTable: Buffer.from('scw-backup index-table v2'),
  catalog: Buffer.from('scw-backup catalog v2'),
  drill: Buffer.from('scw-backup drill v1'),
} as const;

const BLOB_AAD_PREFIX = Buffer.from('scw-backup blob v1');

export function blobAad(type: number, id: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(BLOB_AAD_PREFIX.length + 1 + id.length);
  BLOB_AAD_PREFIX.copy(aad, 0);
  aad[BLOB_AAD_PREFIX.length] = type;
  aad.set(id, BLOB_AAD_PREFIX.length + 1);
  return aad;
}

/** Seals and opens the objects of one store with its encryption key, in its format version's scheme. */
export class Sealer {
  readonly nonceLength: number;
  /** Bytes a sealed object adds to its plaintext. */
  readonly overhead: number;
  private readonly xaes: XaesKeyDerivation | undefined;

  constructor(private readonly key: Uint8Array, readonly version: SealVersion) {
    this.nonceLength = version === 1 ? V1_NONCE_LENGTH : XAES_NONCE_LENGTH;
    this.overhead = this.nonceLength + TAG_LENGTH;
    this.xaes = version === 1 ? undefined : new XaesKeyDerivation(key);
  }

  /** A GCM cipher under a fresh random nonce, which is written into `nonce` (nonceLength bytes). */
  cipher(nonce: Uint8Array): CipherGCM {
    randomFillSync(nonce);
    return this.xaes ? createCipheriv('aes-256-gcm', this.xaes.derive(nonce), nonce.subarray(12)) : createCipheriv('aes-256-gcm', this.key, nonce);
  }

  private decipher(nonce: Uint8Array): DecipherGCM {
    return this.xaes ? createDecipheriv('aes-256-gcm', this.xaes.derive(nonce), nonce.subarray(12)) : createDecipheriv('aes-256-gcm', this.key, nonce);
  }

  /** Seal the concatenation of `parts` (so a header byte need not be copied in front of the data). */
  seal(aad: Uint8Array, parts: readonly Uint8Array[]): Buffer {
    const nonce = Buffer.allocUnsafe(this.nonceLength);
    const cipher = this.cipher(nonce);
    cipher.setAAD(aad);
    const chunks: Buffer[] = [nonce];
    for (const p of parts) chunks.push(cipher.update(p));
    chunks.push(cipher.final(), cipher.getAuthTag());
    return Buffer.concat(chunks);
  }

  /** Open a sealed object; undefined when authentication fails (the caller names the object). */
  open(aad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
    if (sealed.length < this.overhead) return undefined;
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const decipher = this.decipher(buf.subarray(0, this.nonceLength));
    decipher.setAAD(aad);
    decipher.setAuthTag(buf.subarray(buf.length - TAG_LENGTH));
    const out = decipher.update(buf.subarray(this.nonceLength, buf.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      // GCM tag mismatch: the only failure final() reports; the caller turns it into a typed error.
      return undefined;
    }
    return out;
  }
}
