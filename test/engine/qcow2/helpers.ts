import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskSource, Extent } from '../../../engine/source/disk-source';
import type { RangeReader } from '../../../engine/source/range-reader';
import { DamagedObjectError } from '../../../engine/errors';

export function makeTempDir(prefix = 'qcow2-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Run qemu-img and return stdout; throws with stderr on failure. */
export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run qemu-img without throwing: exit status, stdout and stderr. */
export function qemuImgStatus(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function qemuIo(file: string, format: string, ...commands: string[]): void {
  const args = ['-f', format];
  for (const c of commands) args.push('-c', c);
  execFileSync('qemu-io', [...args, file], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface MapEntry {
  start: number;
  length: number;
  depth: number;
  present?: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
}

export function qemuMap(file: string): MapEntry[] {
  return JSON.parse(qemuImg('map', '--output=json', file)) as MapEntry[];
}

/** A raw copy of any image, as qemu sees the guest disk. */
export function toRaw(image: string, raw: string): Buffer {
  qemuImg('convert', '-O', 'raw', image, raw);
  return readFileSync(raw);
}

/** Deterministic pseudo-random bytes (xorshift32), so fixtures are reproducible. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(Math.ceil(n / 4) * 4);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(rand(), i);
  return b.subarray(0, n);
}

/** Compressible text, like the files of a real disk. */
export function textBytes(n: number, salt = 0): Buffer {
  const lines: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const line = `line ${i + salt} the quick brown fox jumps over ${(i * 7919 + salt) % 1000} lazy dogs\n`;
    lines.push(line);
    len += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, n);
}

/** Write `buf` into a sparse raw file of `size` bytes, only the given ranges (others stay holes). */
export function writeSparseRaw(path: string, size: number, parts: Array<{ offset: number; data: Uint8Array }>): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) writeSync(fd, p.data, 0, p.data.length, p.offset);
    // Set the size without writing zeros.
    execFileSync('truncate', ['-s', String(size), path]);
  } finally {
    closeSync(fd);
  }
}

/** A DiskSource over a buffer; extents given, or every non-zero `granule` of the buffer. */
export function memorySource(buf: Uint8Array, extents?: Extent[], granule = 4096): DiskSource & { reads: number } {
  const list = extents ?? nonZeroExtents(buf, granule);
  const src = {
    info: { format: 'raw', location: 'memory' },
    size: buf.length,
    reads: 0,
    async *extents(): AsyncGenerator<Extent> {
      for (const e of list) yield e;
    },
    async read(offset: number, into: Uint8Array): Promise<void> {
      src.reads++;
      if (offset < 0 || offset + into.length > buf.length) throw new Error(`read past size: ${offset}+${into.length}`);
      into.set(buf.subarray(offset, offset + into.length));
    },
    async close(): Promise<void> {},
  };
  return src;
}

export function nonZeroExtents(buf: Uint8Array, granule: number): Extent[] {
  const out: Extent[] = [];
  for (let o = 0; o < buf.length; o += granule) {
    const end = Math.min(o + granule, buf.length);
    let nz = false;
    for (let i = o; i < end; i++) if (buf[i] !== 0) { nz = true; break; }
    if (!nz) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === o) last.length += end - o;
    else out.push({ offset: o, length: end - o });
  }
  return out;
}

/** A RangeReader over a buffer (like an S3 object): no readInto, so the copy path is used too. */
export class MemoryRangeReader implements RangeReader {
  closed = false;
  constructor(readonly location: string, private readonly data: Uint8Array) {}
  get size(): number {
    return this.data.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.data.length) {
      throw new DamagedObjectError(this.location, `read of ${length} bytes at ${offset} runs past the end`);
    }
    return this.data.slice(offset, offset + length);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export async function readWhole(src: DiskSource, piece = 1 << 20): Promise<Buffer> {
  const out = Buffer.alloc(src.size);
  for (let o = 0; o < src.size; o += piece) await src.read(o, out.subarray(o, Math.min(o + piece, src.size)));
  return out;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function writeStream(it: AsyncIterable<Uint8Array>, path: string): Promise<number> {
  const fd = openSync(path, 'w');
  let n = 0;
  try {
    for await (const b of it) {
      writeSync(fd, b, 0, b.length, n);
      n += b.length;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A small guest disk with the shapes that matter: random (incompressible) data, text, a byte
 * pattern, zero runs, a partial cluster, and a size that is a sector but not a cluster multiple.
 */
export function baseDisk(): Buffer {
  const size = 6 * MiB + 3 * 4096 + 512;
  const buf = Buffer.alloc(size);
  const rand = prng(42);
  randomBytes(rand, 64 * KiB).copy(buf, 0);
  textBytes(1 * MiB, 1).copy(buf, 1 * MiB);
  randomBytes(rand, 4096).copy(buf, 2 * MiB + 4096);
  for (let i = 3 * MiB; i < 3.5 * MiB; i++) buf[i] = i & 0xff;
  textBytes(size - 5 * MiB - 700, 2).copy(buf, 5 * MiB);
  return buf;
}

export { KiB, MiB };

/** Copy regular files of a real tree (sorted, depth first) until `budget` bytes: real data, bounded. */
export function copyBudget(from: string, to: string, budget: number): number {
  let left = budget;
  const walk = (src: string, dst: string): void => {
    mkdirSync(dst, { recursive: true });
    for (const name of readdirSync(src).sort()) {
      if (left <= 0) return;
      const s = join(src, name);
      const st = lstatSync(s);
      if (st.isDirectory()) walk(s, join(dst, name));
      else if (st.isFile() && st.size <= left) {
        copyFileSync(s, join(dst, name));
        left -= st.size;
      }
    }
  };
  walk(from, to);
  return budget - left;
}
