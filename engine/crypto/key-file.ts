import { createHash, randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { z } from '../schema';
import { deriveKek, kdfProblem, type KdfParams } from './kdf';

/**
 * FORMAT.md §3: one passphrase's wrapping of the master key; its version is its store's. A plain type
 * (the schema checks it) so the package's declarations never expose zod's (see store/snapshot.ts).
 */
export interface KeyFile {
  version: 1 | 2;
  created: string;
  hostname: string;
  username: string;
  kdf: KdfParams;
  aead: 'xchacha20-poly1305';
  nonce: string;
  wrapped: string;
}

const keyFileSchema: z.ZodType<KeyFile> = z.object({
  version: z.union([z.literal(1), z.literal(2)]),
  created: z.string(),
  hostname: z.string(),
  username: z.string(),
  kdf: z.object({
    name: z.literal('argon2id'),
    version: z.literal(19),
    time: z.number().int().safe(),
    memoryKiB: z.number().int().safe(),
    parallelism: z.number().int().safe(),
    salt: z.string(),
  }),
  aead: z.literal('xchacha20-poly1305'),
  nonce: z.string(),
  wrapped: z.string(),
});


/**
 * Binds a key file to its repository and to its format version: a key file copied into another
 * repository does not open it, and a version 2 store whose config is replaced by a version 1 one (to
 * shed the config's MAC) does not open with its keys as if it were version 1.
 */
function keyAad(repositoryId: string, version: KeyFile['version']): Uint8Array {
  return Buffer.from(`scw-backup key v${version} ${repositoryId}`, 'utf8');
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
  version: KeyFile['version'],
): Promise<KeyFile> {
  const params: KdfParams = { name: 'argon2id', version: 19, ...kdf, salt: randomBytes(16).toString('base64') };
  const kek = await deriveKek(passphrase, params);
  const nonce = randomBytes(24);
  const wrapped = xchacha20poly1305(kek, nonce, keyAad(repositoryId, version)).encrypt(masterKey);
  return {
    version,
    created: new Date().toISOString(),
    hostname: hostname(),
    username: currentUser(),
    kdf: params,
    aead: 'xchacha20-poly1305',
    nonce: nonce.toString('base64'),
    wrapped: Buffer.from(wrapped).toString('base64'),
  };
}

/**
 * Parse and vet a key file before any work is spent on it: its name must be the SHA-256 of its bytes
 * (FORMAT.md §1), its fields well-formed, its KDF parameters within bounds (kdf.ts: a planted key
 * file must not exhaust memory or time). Returns the key file, or why it is not usable.
 */
export function parseKeyFile(bytes: Uint8Array, id: string): KeyFile | { problem: string } {
  if (createHash('sha256').update(bytes).digest('hex') !== id) return { problem: 'its contents do not match its name (it was changed or replaced)' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { problem: 'it is not JSON' };
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) return { problem: `it is not a key file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  const { time, memoryKiB, parallelism, salt } = parsed.data.kdf;
  const kdf = kdfProblem(time, memoryKiB, parallelism);
  if (kdf) return { problem: `its ${kdf.input} ${kdf.what}` };
  if (Buffer.from(salt, 'base64').length < 8) return { problem: 'its salt is shorter than the 8 bytes RFC 9106 requires' };
  if (Buffer.from(parsed.data.nonce, 'base64').length !== 24 || Buffer.from(parsed.data.wrapped, 'base64').length !== 48) {
    return { problem: 'its nonce or wrapped key has the wrong length' };
  }
  return parsed.data;
}

export function isKeyFile(k: KeyFile | { problem: string }): k is KeyFile {
  return !('problem' in k);
}

/** Argon2id work a key file asks for (memory × passes): keys are tried cheapest first. */
export function kdfCost(key: KeyFile): number {
  return key.kdf.memoryKiB * key.kdf.time;
}

/** The master key, or undefined when the passphrase is not this key's. */
export async function unwrapMasterKey(key: KeyFile, passphrase: string, repositoryId: string): Promise<Uint8Array | undefined> {
  const kek = await deriveKek(passphrase, key.kdf);
  try {
    return xchacha20poly1305(kek, Buffer.from(key.nonce, 'base64'), keyAad(repositoryId, key.version)).decrypt(Buffer.from(key.wrapped, 'base64'));
  } catch {
    // Poly1305 tag mismatch: wrong passphrase (or a key of another repository); the caller tries the next key.
    return undefined;
  }
}
