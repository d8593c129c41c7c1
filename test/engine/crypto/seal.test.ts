import { createCipheriv, createHash } from 'node:crypto';
import { MAX_SEAL_OVERHEAD, Sealer } from '../../../engine/crypto/seal';
import { XaesKeyDerivation } from '../../../engine/crypto/xaes';

// The vectors of the C2SP XAES-256-GCM specification (https://c2sp.org/XAES-256-GCM, "Test vectors").
const vectors = [
  {
    key: '01'.repeat(32), nonce: 'ABCDEFGHIJKLMNOPQRSTUVWX', kx: 'c8612c9ed53fe43e8e005b828a1631a0bbcb6ab2f46514ec4f439fcfd0fa969b',
    plaintext: 'XAES-256-GCM', aad: '', sealed: 'ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271',
  },
  {
    key: '03'.repeat(32), nonce: 'ABCDEFGHIJKLMNOPQRSTUVWX', kx: 'e9c621d4cdd9b11b00a6427ad7e559aeedd66b3857646677748f8ca796cb3fd8',
    plaintext: 'XAES-256-GCM', aad: 'c2sp.org/XAES-256-GCM', sealed: '986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d',
  },
];

describe('XAES-256-GCM (C2SP)', () => {
  it.each(vectors)('derives the spec\'s key and opens its ciphertext (key $key)', ({ key, nonce, kx, plaintext, aad, sealed }) => {
    const k = Buffer.from(key, 'hex');
    const n = Buffer.from(nonce, 'ascii');
    expect(new XaesKeyDerivation(k).derive(n).toString('hex')).toBe(kx);
    const opened = new Sealer(k, 2).open(Buffer.from(aad), Buffer.concat([n, Buffer.from(sealed, 'hex')]));
    expect(opened?.toString('ascii')).toBe(plaintext);
    expect(new Sealer(k, 2).open(Buffer.from(aad + 'x'), Buffer.concat([n, Buffer.from(sealed, 'hex')]))).toBeUndefined();
  });

  it('matches the spec\'s accumulated randomized test (10 000 iterations)', () => {
    // A deterministic RNG: one SHAKE-128 stream with an empty input (enough of it for the worst case).
    const stream = createHash('shake128', { outputLength: 10_000 * (32 + 24 + 2 + 2 * 255) }).digest();
    expect(stream.subarray(0, 16).toString('hex')).toBe('7f9c2ba4e88f827d616045507605853e');
    let p = 0;
    const take = (n: number) => stream.subarray(p, (p += n));
    const vector = (): Buffer => take(take(1)[0]); // opaque <0..255>: a length byte, then the bytes
    const out = createHash('shake128', { outputLength: 32 });
    for (let i = 0; i < 10_000; i++) {
      const key = take(32);
      const nonce = take(24);
      const plaintext = vector();
      const aad = vector();
      const cipher = createCipheriv('aes-256-gcm', new XaesKeyDerivation(key).derive(nonce), nonce.subarray(12));
      cipher.setAAD(aad);
      out.update(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
    }
    expect(out.digest('hex')).toBe('e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939');
  });
});

describe('Sealer', () => {
  const key = Buffer.alloc(32, 7);
  it.each([1, 2] as const)('version %d: round trip, fresh nonces, tampering detected', (version) => {
    const sealer = new Sealer(key, version);
    expect(sealer.overhead).toBe(version === 1 ? 28 : 40);
    expect(sealer.overhead).toBeLessThanOrEqual(MAX_SEAL_OVERHEAD);
    const a = sealer.seal(Buffer.from('purpose'), [Buffer.from('he'), Buffer.from('llo')]);
    const b = sealer.seal(Buffer.from('purpose'), [Buffer.from('hello')]);
    expect(a.length).toBe(5 + sealer.overhead);
    expect(a.subarray(0, sealer.nonceLength).equals(b.subarray(0, sealer.nonceLength))).toBe(false);
    expect(sealer.open(Buffer.from('purpose'), a)?.toString()).toBe('hello');
    expect(sealer.open(Buffer.from('other'), a)).toBeUndefined();
    const flipped = Buffer.from(a);
    flipped[3] ^= 1; // in the nonce: with XAES, in the half that derives the key
    expect(sealer.open(Buffer.from('purpose'), flipped)).toBeUndefined();
    expect(sealer.open(Buffer.from('purpose'), a.subarray(0, sealer.overhead - 1))).toBeUndefined();
  });

  it('a version 1 object does not open as version 2, nor the reverse', () => {
    const v1 = new Sealer(key, 1).seal(Buffer.from('x'), [Buffer.from('data')]);
    const v2 = new Sealer(key, 2).seal(Buffer.from('x'), [Buffer.from('data')]);
    expect(new Sealer(key, 2).open(Buffer.from('x'), v1)).toBeUndefined();
    expect(new Sealer(key, 1).open(Buffer.from('x'), v2)).toBeUndefined();
  });
});
