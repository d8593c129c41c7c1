import { InvalidInputError } from '../errors';
import { collectGarbage } from '../gc';
import { loadAddon } from '../native-addon';

/** Argon2id parameters as stored with each wrapped key (RFC 9106 §3.1 names: t, m, p). */
export interface KdfParams {
  name: 'argon2id';
  /** Argon2 version number; 0x13 = 19 is the only one RFC 9106 defines. */
  version: 19;
  time: number;
  memoryKiB: number;
  parallelism: number;
  /** base64 */
  salt: string;
}

/**
 * RFC 9106 §4, the second recommended option ("if much less memory is available"): t = 3 passes,
 * m = 64 MiB, p = 4 lanes. Computed by native/argon2.c, its lanes on up to one thread per core:
 * ~0.08 s on our 2-core machines (hash-wasm's WebAssembly, lanes one after the other: ~0.25 s),
 * and 64 MiB of memory for that long. Every command that opens the store pays it once per key tried
 * (bench/RESULTS.md).
 */
export const DEFAULT_KDF = { time: 3, memoryKiB: 65536, parallelism: 4 } as const;

/** OWASP's minimum: below it the passphrase protects little; init accepts less only when asked (tests). */
export const WEAK_KDF_MEMORY_KIB = 19456;

/**
 * The most a key file may ask for. A key file is read before anyone knows whether it is genuine, so
 * whoever can write to the store could plant one that makes every open allocate or compute without
 * bound: 1 GiB of memory, and 4 GiB-passes of work (memory × time: ~9 s here) at most.
 */
export const MAX_KDF_MEMORY_KIB = 1024 * 1024;
const MAX_KDF_WORK_KIB = 4 * MAX_KDF_MEMORY_KIB;

/** What is wrong with these parameters, or undefined when they are usable. */
export function kdfProblem(time: number, memoryKiB: number, parallelism: number): { input: string; what: string } | undefined {
  if (!Number.isInteger(time) || time < 1 || time > 64) return { input: 'kdf time', what: `must be an integer 1..64, got ${time}` };
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 16) return { input: 'kdf parallelism', what: `must be an integer 1..16, got ${parallelism}` };
  // RFC 9106 §3.1: m >= 8p KiB.
  if (!Number.isInteger(memoryKiB) || memoryKiB < 8 * parallelism || memoryKiB > MAX_KDF_MEMORY_KIB) {
    return { input: 'kdf memory', what: `must be an integer between ${8 * parallelism} KiB and 1 GiB, got ${memoryKiB} KiB` };
  }
  if (memoryKiB * time > MAX_KDF_WORK_KIB) return { input: 'kdf time', what: `${time} passes over ${memoryKiB} KiB is more work than the 4 GiB-passes allowed` };
  return undefined;
}

export function validateKdf(time: number, memoryKiB: number, parallelism: number): void {
  const problem = kdfProblem(time, memoryKiB, parallelism);
  if (problem) throw new InvalidInputError(problem.input, problem.what);
}

/** Argon2id version 0x13 with an empty secret and associated data: the `length`-byte tag. */
export type Argon2id = (password: Uint8Array, salt: Uint8Array, params: Pick<KdfParams, 'time' | 'memoryKiB' | 'parallelism'>, length: number) => Promise<Uint8Array>;

interface Argon2Addon {
  argon2idAsync(password: Uint8Array, salt: Uint8Array, secret: Uint8Array, associatedData: Uint8Array, time: number, memoryKiB: number, parallelism: number, tag: Uint8Array): Promise<number>;
}

/**
 * native/argon2.c, or undefined where the addon was not built. Its memory is freed before the
 * promise settles, and the main thread stays free meanwhile.
 */
export const argon2idNative: Argon2id | undefined = (() => {
  const addon = loadAddon<Argon2Addon>('argon2');
  if (!addon) return undefined;
  return async (password, salt, params, length) => {
    const tag = new Uint8Array(length);
    await addon.argon2idAsync(password, salt, new Uint8Array(0), new Uint8Array(0), params.time, params.memoryKiB, params.parallelism, tag);
    return tag;
  };
})();

/** hash-wasm's WebAssembly, where the addon was not built: slower (one lane at a time), same tag. */
export const argon2idWasm: Argon2id = async (password, salt, params, length) => {
  const { argon2id } = await import('hash-wasm');
  const tag = await argon2id({
    password,
    salt,
    iterations: params.time,
    memorySize: params.memoryKiB,
    parallelism: params.parallelism,
    hashLength: length,
    outputType: 'binary',
  });
  // hash-wasm's Argon2 memory (m KiB: 64 MiB by default) is garbage now, but V8 kept it through a
  // whole backup (its heap stays small, so no full collection comes): 65 MiB more peak RSS for every
  // command. A full collection frees it, once hash-wasm's own promises have settled (a collection
  // right after the await found it still referenced): ~10-20 ms here, once per key tried.
  if (collectGarbage) {
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
  }
  return tag;
};

export async function deriveKek(passphrase: string, params: KdfParams): Promise<Uint8Array> {
  validateKdf(params.time, params.memoryKiB, params.parallelism);
  if (passphrase.length === 0) throw new InvalidInputError('passphrase', 'is empty');
  const password = Buffer.from(passphrase, 'utf8');
  try {
    return await (argon2idNative ?? argon2idWasm)(password, Buffer.from(params.salt, 'base64'), params, 32);
  } finally {
    password.fill(0);
  }
}
