import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { z } from 'zod';
import { deriveKek, type KdfParams } from './kdf';

/** FORMAT.md §3: one passphrase's wrapping of the master key. */
const keyFileSchema = z.object({
  version: z.literal(1),
  created: z.string(),
  hostname: z.string(),
  username: z.string(),
  kdf: z.object({
    name: z.literal('argon2id'),
    version: z.literal(19),
    time: z.number().int(),
    memoryKiB: z.number().int(),
    parallelism: z.number().int(),
    salt: z.string(),
  }),
  aead: z.literal('xchacha20-poly1305'),
  nonce: z.string(),
  wrapped: z.string(),
});

export type KeyFile = z.infer<typeof keyFileSchema>;

function keyAad(repositoryId: string): Uint8Array {
  return Buffer.from(`scw-backup key v1 ${repositoryId}`, 'utf8');
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for the uid (containers): the key simply records no user name.
    return '';
  }
}

export async function wrapMasterKey(
  masterKey: Uint8Array,
  passphrase: string,
  repositoryId: string,
  kdf: { time: number; memoryKiB: number; parallelism: number },
): Promise<KeyFile> {
  const params: KdfParams = { name: 'argon2id', version: 19, ...kdf, salt: randomBytes(16).toString('base64') };
  const kek = await deriveKek(passphrase, params);
  const nonce = randomBytes(24);
  const wrapped = xchacha20poly1305(kek, nonce, keyAad(repositoryId)).encrypt(masterKey);
  return {
    version: 1,
    created: new Date().toISOString(),
    hostname: hostname(),
    username: currentUser(),
    kdf: params,
    aead: 'xchacha20-poly1305',
    nonce: nonce.toString('base64'),
    wrapped: Buffer.from(wrapped).toString('base64'),
  };
}

/** Parse a key file's bytes; undefined when it is not a key file of this format. */
export function parseKeyFile(bytes: Uint8Array): KeyFile | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = keyFileSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** The master key, or undefined when the passphrase is not this key's. */
export async function unwrapMasterKey(key: KeyFile, passphrase: string, repositoryId: string): Promise<Uint8Array | undefined> {
  const kek = await deriveKek(passphrase, key.kdf);
  try {
    return xchacha20poly1305(kek, Buffer.from(key.nonce, 'base64'), keyAad(repositoryId)).decrypt(Buffer.from(key.wrapped, 'base64'));
  } catch {
    // Poly1305 tag mismatch: wrong passphrase (or a key of another repository); the caller tries the next key.
    return undefined;
  }
}
