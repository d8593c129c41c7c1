import { argon2id } from 'hash-wasm';
import { InvalidInputError } from '../errors';
import { collectGarbage } from '../gc';

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
 * m = 64 MiB, p = 4 lanes. Computed in WebAssembly (hash-wasm, lanes one after the other): ~0.29 s
 * and ~46 MiB more peak memory than OWASP's floor (m = 19 MiB, t = 2, p = 1: ~0.07 s) on our 2-core
 * machines. Every command that opens the store pays it once per key tried (bench/RESULTS.md).
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

export async function deriveKek(passphrase: string, params: KdfParams): Promise<Uint8Array> {
  validateKdf(params.time, params.memoryKiB, params.parallelism);
  if (passphrase.length === 0) throw new InvalidInputError('passphrase', 'is empty');
  const salt = Buffer.from(params.salt, 'base64');
  const kek = await argon2id({
    password: Buffer.from(passphrase, 'utf8'),
    salt,
    iterations: params.time,
    memorySize: params.memoryKiB,
    parallelism: params.parallelism,
    hashLength: 32,
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
  return kek;
}
