import { argon2id as nobleArgon2id } from '@noble/hashes/argon2';
import { deriveKek, type KdfParams } from '../../../engine/crypto/kdf';

// The KDF runs in native/argon2.c (hash-wasm's WebAssembly where the addons are not built); key
// files written before either used @noble/hashes. All implement RFC 9106 Argon2id version 0x13: they
// must agree byte for byte, or existing stores would stop opening.
describe('deriveKek (Argon2id, RFC 9106)', () => {
  const cases: Array<[string, number, number, number, number]> = [
    ['correct horse battery staple', 1, 64, 1, 16],
    ['p', 2, 256, 2, 16],
    ['pässwörd ✓', 3, 1024, 1, 32],
    ['x'.repeat(200), 2, 4096, 1, 16],
  ];
  it.each(cases)('matches an independent implementation for %j (t=%d, m=%d KiB, p=%d)', async (passphrase, time, memoryKiB, parallelism, saltLength) => {
    const salt = Buffer.alloc(saltLength);
    for (let i = 0; i < saltLength; i++) salt[i] = (i * 37 + time) & 0xff;
    const params: KdfParams = { name: 'argon2id', version: 19, time, memoryKiB, parallelism, salt: salt.toString('base64') };
    const ours = await deriveKek(passphrase, params);
    const reference = nobleArgon2id(Buffer.from(passphrase, 'utf8'), salt, { t: time, m: memoryKiB, p: parallelism, dkLen: 32, version: 0x13 });
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(reference).toString('hex'));
  });

  it('refuses an empty passphrase with a typed error', async () => {
    const params: KdfParams = { name: 'argon2id', version: 19, time: 1, memoryKiB: 64, parallelism: 1, salt: Buffer.alloc(16).toString('base64') };
    await expect(deriveKek('', params)).rejects.toThrow(/passphrase: is empty/);
  });

  it('refuses parameters outside the RFC bounds before computing anything', async () => {
    const params: KdfParams = { name: 'argon2id', version: 19, time: 1, memoryKiB: 4, parallelism: 1, salt: Buffer.alloc(16).toString('base64') };
    await expect(deriveKek('pw-passphrase', params)).rejects.toThrow(/kdf memory/);
  });
});
