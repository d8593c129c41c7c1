/**
 * restic's encryption, as bench/fleet-restic.ts writes a synthetic repository with it: AES-256-CTR
 * and Poly1305-AES over the ciphertext (restic doc/design.rst v0.14.0, "Keys, Encryption and MAC"
 * and "Repository Format"; sections cited as "design: <section>").
 */
import { createCipheriv } from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305';

export class FleetResticError extends Error {
  constructor(
    readonly code: 'FLEET_RESTIC_BAD_OPTION' | 'FLEET_RESTIC_NOT_EMPTY',
    message: string,
  ) {
    super(message);
    this.name = 'FleetResticError';
  }
}

/** design: Repository Format — IV (16) || ciphertext || MAC (16). */
export const IV_SIZE = 16;
const MAC_SIZE = 16;
export const OVERHEAD = IV_SIZE + MAC_SIZE;

/** design: Keys, Encryption and MAC — AES-256 key, then the Poly1305-AES key: AES-128 key k, Poly1305 r. */
export interface MasterKey {
  encrypt: Uint8Array;
  macK: Uint8Array;
  macR: Uint8Array;
}

/** The Poly1305 r clamp of Bernstein's paper (restic's poly1305KeyMask, internal/crypto/crypto.go). */
export const R_MASK = [0xff, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f, 0xfc, 0xff, 0xff, 0x0f];

/**
 * Poly1305-AES (design: Keys, Encryption and MAC): the one-time Poly1305 key is r || AES-128_k(nonce).
 * @noble/ciphers' poly1305 clamps r itself, as restic does before use.
 */
export function poly1305Aes(msg: Uint8Array, nonce: Uint8Array, k: Uint8Array, r: Uint8Array): Uint8Array {
  const ecb = createCipheriv('aes-128-ecb', k, null).setAutoPadding(false);
  const s = ecb.update(nonce);
  const key = new Uint8Array(32);
  key.set(r, 0);
  key.set(s, 16);
  return poly1305(msg, key);
}

/** IV || AES-256-CTR(plaintext) || Poly1305-AES(ciphertext) (design: Repository Format). */
export function seal(key: MasterKey, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  if (iv.length !== IV_SIZE || iv.every((b) => b === 0)) {
    // restic refuses an all-zero nonce (internal/crypto/crypto.go validNonce).
    throw new FleetResticError('FLEET_RESTIC_BAD_OPTION', 'seal: the IV must be 16 bytes and not all zero');
  }
  const out = Buffer.allocUnsafe(plaintext.length + OVERHEAD);
  out.set(iv, 0);
  const ctr = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const n = ctr.update(plaintext).copy(out, IV_SIZE);
  ctr.final();
  const ct = out.subarray(IV_SIZE, IV_SIZE + n);
  out.set(poly1305Aes(ct, iv, key.macK, key.macR), IV_SIZE + n);
  return out;
}
