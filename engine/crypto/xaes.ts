import { createCipheriv, type Cipher } from 'node:crypto';

/**
 * The key derivation of XAES-256-GCM (C2SP, https://c2sp.org/XAES-256-GCM, "Detailed key derivation
 * algorithm"): from a 256-bit key K and the first 96 bits of a 192-bit nonce, a fresh AES-256-GCM key
 * Kx; the nonce's last 96 bits are Kx's GCM nonce. A NIST SP 800-108r1 counter KDF with CMAC-AES256,
 * whose inputs are single blocks, so it costs two AES block encryptions per message; the CMAC subkey
 * K1 (steps 1-2) is computed once per key.
 */
export const XAES_NONCE_LENGTH = 24;

export class XaesKeyDerivation {
  /** AES-256 in ECB mode is the bare block cipher: one long-lived context serves every derivation. */
  private readonly ecb: Cipher;
  private readonly k1: Buffer;
  private readonly m = Buffer.alloc(32);

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error(`XAES-256-GCM needs a 32-byte key, got ${key.length}`);
    this.ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    // Steps 1-2: L = AES-256_K(0^128); K1 = L << 1, xor 0x87 into the last byte when L's top bit was set.
    const l = this.ecb.update(Buffer.alloc(16));
    const k1 = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) k1[i] = ((l[i] << 1) | (i < 15 ? l[i + 1] >>> 7 : 0)) & 0xff;
    if (l[0] & 0x80) k1[15] ^= 0x87;
    this.k1 = k1;
  }

  /** Steps 3-5: Kx = AES-256_K(M1 ⊕ K1) || AES-256_K(M2 ⊕ K1), Mi = 0x00 || i || "X" || 0x00 || N[:12]. */
  derive(nonce: Uint8Array): Buffer {
    const m = this.m;
    for (const [at, counter] of [[0, 1], [16, 2]] as const) {
      m[at] = 0x00;
      m[at + 1] = counter;
      m[at + 2] = 0x58;
      m[at + 3] = 0x00;
      m.set(nonce.subarray(0, 12), at + 4);
      for (let i = 0; i < 16; i++) m[at + i] ^= this.k1[i];
    }
    return this.ecb.update(m);
  }
}
