import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BackupError, DamagedObjectError } from '../../../engine/errors';
import { openQcow2 } from '../../../engine/qcow2';
import type { RangeReader } from '../../../engine/source/range-reader';
import { KiB, makeTempDir, prng, qemuImg, qemuIo, randomBytes, removeDir, textBytes } from './helpers';

/** A reader over mutated bytes that records the largest request and yields to the event loop. */
class FuzzReader implements RangeReader {
  maxRequest = 0;
  requested = 0;
  constructor(
    readonly location: string,
    private readonly data: Uint8Array,
  ) {}
  get size(): number {
    return this.data.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.maxRequest = Math.max(this.maxRequest, length);
    this.requested += length;
    // Let timers run between reads, so a runaway case is caught by the timeout race.
    await yieldToLoop();
    if (offset < 0 || length < 0 || offset + length > this.data.length) {
      throw new DamagedObjectError(this.location, `read of ${length} at ${offset} runs past the end`);
    }
    return this.data.subarray(offset, offset + length);
  }
  async close(): Promise<void> {}
}

interface Base {
  name: string;
  bytes: Buffer;
  clusterSize: number;
  /** Byte ranges worth aiming at: [start, end). */
  regions: Record<string, [number, number]>;
  l2Offsets: number[];
}

function describeBase(name: string, bytes: Buffer): Base {
  const cs = 2 ** bytes.readUInt32BE(20);
  const version = bytes.readUInt32BE(4);
  const headerLength = version === 3 ? bytes.readUInt32BE(100) : 72;
  const l1Size = bytes.readUInt32BE(36);
  const l1 = Number(bytes.readBigUInt64BE(40));
  const rt = Number(bytes.readBigUInt64BE(48));
  const l2Offsets: number[] = [];
  for (let i = 0; i < l1Size; i++) {
    const o = Number(bytes.readBigUInt64BE(l1 + i * 8) & 0x00fffffffffffe00n);
    if (o) l2Offsets.push(o);
  }
  const firstBlock = Number(bytes.readBigUInt64BE(rt));
  return {
    name,
    bytes,
    clusterSize: cs,
    l2Offsets,
    regions: {
      header: [0, headerLength],
      extensions: [headerLength, Math.min(cs, 1024)],
      l1: [l1, l1 + Math.max(8, l1Size * 8)],
      refcounts: [rt, rt + 64],
      refblock: [firstBlock, firstBlock + 64],
      l2: [l2Offsets[0], l2Offsets[0] + Math.min(cs, 2048)],
      anywhere: [0, bytes.length],
    },
  };
}

const BIG_VALUES = [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 62n, 2n ** 56n - 512n, 2n ** 53n, 0x4000000000000000n | 0x123456n, 0x8000000000000200n];
const SMALL_VALUES = [0, 1, 2, 3, 4, 8, 9, 12, 14, 16, 21, 22, 63, 64, 104, 112, 0x7fffffff, 0xffffffff];

function mutate(base: Base, rand: () => number): { bytes: Buffer; what: string[] } {
  let bytes = Buffer.from(base.bytes);
  const what: string[] = [];
  const pick = <T>(xs: T[]): T => xs[rand() % xs.length];
  const n = 1 + (rand() % 3);
  for (let k = 0; k < n; k++) {
    const regionName = pick(Object.keys(base.regions));
    const [a, b] = base.regions[regionName];
    const at = a + (rand() % Math.max(1, b - a));
    const kind = rand() % 8;
    if (at >= bytes.length) continue;
    switch (kind) {
      case 0:
        bytes[at] = rand() & 0xff;
        what.push(`byte ${regionName}@${at}`);
        break;
      case 1:
        bytes[at] ^= 1 << (rand() % 8);
        what.push(`flip ${regionName}@${at}`);
        break;
      case 2: {
        const p = at & ~7;
        if (p + 8 > bytes.length) break;
        const v = rand() % 4 === 0 ? (BigInt(rand()) << 32n) | BigInt(rand()) : pick(BIG_VALUES);
        bytes.writeBigUInt64BE(v, p);
        what.push(`u64 ${regionName}@${p}=${v}`);
        break;
      }
      case 3: {
        const field = pick([4, 16, 20, 32, 36, 56, 60, 96, 100]);
        bytes.writeUInt32BE(pick(SMALL_VALUES), field);
        what.push(`header u32 @${field}`);
        break;
      }
      case 4: {
        const len = rand() % bytes.length;
        bytes = bytes.subarray(0, len);
        what.push(`truncate ${len}`);
        break;
      }
      case 5: {
        // An L2 entry or L1 entry aimed at metadata: the header, the L1 table, an L2 table.
        const targets = [0, base.regions.l1[0], ...base.l2Offsets.slice(0, 2), base.regions.refcounts[0]];
        const entry = pick([base.regions.l1, base.regions.l2]);
        const p = (entry[0] + (rand() % Math.max(1, entry[1] - entry[0]))) & ~7;
        if (p + 8 > bytes.length) break;
        bytes.writeBigUInt64BE(BigInt(pick(targets)) | (rand() % 2 ? 2n ** 63n : 0n), p);
        what.push(`aim @${p}`);
        break;
      }
      case 6: {
        // A run of random bytes.
        const len = Math.min(1 + (rand() % 64), bytes.length - at);
        randomBytes(rand, len).copy(bytes, at);
        what.push(`random ${regionName}@${at}+${len}`);
        break;
      }
      default: {
        // A sane-looking but shifted table offset in the header.
        const field = pick([40, 48, 64]);
        bytes.writeBigUInt64BE(BigInt(base.clusterSize * (rand() % 16)) + BigInt(rand() % 2 ? 0 : rand() % 512), field);
        what.push(`header offset @${field}`);
      }
    }
  }
  return { bytes, what };
}

type Outcome = 'ok' | string;

async function exercise(bytes: Uint8Array, label: string): Promise<{ outcome: Outcome; reader: FuzzReader }> {
  const reader = new FuzzReader(label, bytes);
  try {
    const img = await openQcow2(reader, { onWarning: () => {} });
    try {
      let budget = 2 * 1024 * 1024;
      let count = 0;
      const buf = Buffer.alloc(256 * KiB);
      for await (const e of img.extents()) {
        if (++count > 2000 || budget <= 0) break;
        const n = Math.min(e.length, buf.length, budget);
        await img.read(e.offset, buf.subarray(0, n));
        budget -= n;
      }
      await img.read(0, buf.subarray(0, Math.min(img.size, buf.length)));
    } finally {
      await img.close();
    }
    return { outcome: 'ok', reader };
  } catch (err) {
    if (!(err instanceof BackupError)) {
      throw new Error(`${label}: not a BackupError: ${(err as Error)?.stack ?? String(err)}`);
    }
    expect(err.message.length).toBeGreaterThan(10);
    return { outcome: err.code, reader };
  }
}

let dir: string;
const bases: Base[] = [];

beforeAll(() => {
  dir = makeTempDir();
  const raw = join(dir, 'small.raw');
  const disk = Buffer.alloc(640 * KiB);
  textBytes(200 * KiB).copy(disk, 0);
  randomBytes(prng(9), 40 * KiB).copy(disk, 300 * KiB);
  textBytes(100 * KiB, 5).copy(disk, 520 * KiB);
  writeFileSync(raw, disk);
  const make = (name: string, ...args: string[]): void => {
    const out = join(dir, `${name}.qcow2`);
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', ...args, raw, out);
    bases.push(describeBase(name, readFileSync(out)));
  };
  make('64k');
  make('512', '-o', 'cluster_size=512');
  make('deflate-4k', '-c', '-o', 'cluster_size=4096');
  make('zstd-16k', '-c', '-o', 'cluster_size=16384,compression_type=zstd');
  make('v2-4k', '-o', 'compat=0.10,cluster_size=4096');
  const ext = join(dir, 'extl2.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=16384', ext, String(640 * KiB));
  qemuIo(ext, 'qcow2', 'write -P 0x41 0 3k', 'write -P 0x42 20k 40k', 'write -z 64k 32k', 'write -P 0x43 200k 1k');
  bases.push(describeBase('extl2-16k', readFileSync(ext)));
});

afterAll(() => removeDir(dir));

it('every base image opens and reads before mutation', async () => {
  for (const b of bases) expect((await exercise(b.bytes, b.name)).outcome).toBe('ok');
});

it('survives thousands of mutated images: data or a BackupError, fast, bounded', async () => {
  const rand = prng(0x5eed);
  const cases = Number(process.env.QCOW2_FUZZ_CASES ?? 6000);
  const outcomes = new Map<Outcome, number>();
  const started = Date.now();
  for (let i = 0; i < cases; i++) {
    const base = bases[i % bases.length];
    const { bytes, what } = mutate(base, rand);
    const label = `case ${i} (${base.name}: ${what.join(', ')})`;
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: still running after 5 s`)), 5000);
    });
    try {
      const { outcome, reader } = await Promise.race([exercise(bytes, label), timeout]);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      // Never asks for more than the file holds in one go, nor much more than a few passes over it.
      expect(reader.maxRequest).toBeLessThanOrEqual(Math.max(bytes.length, 1));
      expect(reader.requested).toBeLessThanOrEqual(8 * 1024 * 1024 + 4 * bytes.length);
    } finally {
      clearTimeout(timer);
    }
    expect(Date.now() - t0).toBeLessThan(5000);
  }
  const summary = Object.fromEntries(outcomes);
  if (process.env.QCOW2_FUZZ_VERBOSE) console.log(summary);
  // The mutations must exercise both sides: images that still read and images that are refused.
  expect(outcomes.get('ok') ?? 0).toBeGreaterThan(cases / 20);
  expect(outcomes.get('DAMAGED_OBJECT') ?? 0).toBeGreaterThan(cases / 20);
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(Object.keys(summary).every((k) => ['ok', 'DAMAGED_OBJECT', 'INVALID_INPUT', 'UNSUPPORTED_FEATURE'].includes(k))).toBe(true);
}, 120_000);
