import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, InitOptions } from '../engine';

/** Cheap KDF for tests: every open costs one Argon2id run. */
export const TEST_INIT: InitOptions = { kdf: { time: 1, memoryKiB: 64, parallelism: 1 }, allowWeakKdf: true };
export const PASS = 'correct horse battery staple';

export async function tempDir(prefix = 'scwb-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** libfaketime's preload library (Debian's libfaketime, pulled in by the faketime package). */
export function libfaketime(): string {
  for (const arch of readdirSync('/usr/lib')) {
    const lib = join('/usr/lib', arch, 'faketime', 'libfaketime.so.1');
    if (existsSync(lib)) return lib;
  }
  throw new Error('libfaketime.so.1 not found: install the Debian package faketime (.ci/run does)');
}

/** Environment for a child process whose clocks run `offset` (e.g. "+2h") from the real ones. */
export const shiftedClock = (offset: string): NodeJS.ProcessEnv => ({ LD_PRELOAD: libfaketime(), FAKETIME: offset });

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function prng(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/**
 * A disk image of `size` bytes: compressible text-like data, random data and zero runs, so
 * compression, incompressible blobs and holes are all exercised.
 */
export function makeImage(size: number, seed = 1): Buffer {
  const img = Buffer.alloc(size);
  const rnd = prng(seed);
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; scw-backup test data 0123456789\n');
  let p = 0;
  let kind = 0;
  while (p < size) {
    const len = Math.min(size - p, 4096 * (1 + (rnd(1)[0] % 64)));
    if (kind % 3 === 0) for (let i = 0; i < len; i++) img[p + i] = text[(p + i) % text.length];
    else if (kind % 3 === 1) rnd(len).copy(img, p);
    // kind 2: zeros (a hole)
    p += len;
    kind++;
  }
  return img;
}

export async function writeImage(dir: string, name: string, data: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

export function randomPassphrase(): string {
  return randomBytes(12).toString('base64');
}

/**
 * Fill `dest` with real files (copied from /usr/share and /usr/lib, walked in sorted order) up to
 * about `budget` bytes: realistic, compressible and varied content for disk-image tests.
 */
export function copyRealFiles(dest: string, budget: number): number {
  const { readdirSync, lstatSync, mkdirSync, copyFileSync } = require('node:fs') as typeof import('node:fs');
  const { join: j } = require('node:path') as typeof import('node:path');
  let used = 0;
  const walk = (src: string, dst: string): void => {
    let names: string[];
    try {
      names = readdirSync(src).sort();
    } catch {
      return; // unreadable folder: skip it, other folders give enough files
    }
    for (const name of names) {
      if (used >= budget) return;
      const s = j(src, name);
      const st = lstatSync(s);
      if (st.isDirectory()) {
        mkdirSync(j(dst, name), { recursive: true });
        walk(s, j(dst, name));
      } else if (st.isFile() && st.size < budget - used) {
        copyFileSync(s, j(dst, name));
        used += st.size;
      }
    }
  };
  for (const root of ['/usr/share/doc', '/usr/share/perl5', '/usr/lib/x86_64-linux-gnu']) {
    mkdirSync(j(dest, root.replace(/\//g, '_')), { recursive: true });
    walk(root, j(dest, root.replace(/\//g, '_')));
  }
  return used;
}

/** A clock that moves `stepMs` at each reading of the wall clock, from `start`: a drill's RTO comes out exact. */
export function steppingClock(start: string, stepMs: number): Clock {
  let t = Date.parse(start);
  return { wall: () => (t += stepMs) - stepMs, monotonic: () => 0 };
}
