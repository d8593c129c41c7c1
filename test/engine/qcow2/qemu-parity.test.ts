/**
 * Corners where a reader must choose, each built byte by byte from the spec (SpecImage) and held
 * against qemu-img, which is the ground truth: what qemu reads we read the same, what qemu refuses
 * we refuse (docs/QCOW2.md, "Reader").
 */
import { randomBytes as cryptoRandom } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { DamagedObjectError } from '../../../engine/errors';
import { openQcow2 } from '../../../engine/qcow2';
import { collect, makeTempDir, MemoryRangeReader, qemuImg, qemuImgStatus, readWhole, removeDir, textBytes } from './helpers';
import { SpecImage } from './spec-image';

const CS = 64 * 1024;

let dir: string;
let n = 0;
beforeAll(() => {
  dir = makeTempDir();
});
afterAll(() => removeDir(dir));

/** Write the image; what qemu-img convert -O raw makes of it (the guest disk), or its error. */
function qemuRead(img: SpecImage): { bytes: Buffer; guest?: Buffer; error?: string } {
  const bytes = img.bytes();
  const file = join(dir, `img-${n++}.qcow2`);
  writeFileSync(file, bytes);
  const r = qemuImgStatus('convert', '-O', 'raw', file, `${file}.raw`);
  if (r.status !== 0) return { bytes, error: r.stderr };
  return { bytes, guest: readFileSync(`${file}.raw`) };
}

/** Our reading of the image: the guest disk, read whole and in cluster-sized pieces, or the refusal. */
async function ourRead(bytes: Buffer): Promise<{ guest?: Buffer; error?: unknown }> {
  try {
    const img = await openQcow2(new MemoryRangeReader('spec.qcow2', bytes));
    const whole = await readWhole(img);
    const pieces = await readWhole(img, CS);
    expect(pieces.equals(whole)).toBe(true);
    await collect(img.extents());
    await img.close();
    return { guest: whole };
  } catch (error) {
    return { error };
  }
}

/** Both read the same disk. */
async function sameAsQemu(img: SpecImage): Promise<Buffer> {
  const q = qemuRead(img);
  expect(q.error).toBeUndefined();
  const ours = await ourRead(q.bytes);
  expect(ours.error).toBeUndefined();
  expect(ours.guest?.equals(q.guest as Buffer)).toBe(true);
  return ours.guest as Buffer;
}

/** Both refuse; ours with a DamagedObjectError naming the file. */
async function refusedLikeQemu(img: SpecImage, qemuSays: RegExp): Promise<DamagedObjectError> {
  const q = qemuRead(img);
  expect(q.error).toMatch(qemuSays);
  const ours = await ourRead(q.bytes);
  expect(ours.error).toBeInstanceOf(DamagedObjectError);
  expect((ours.error as Error).message).toMatch(/^spec\.qcow2 is damaged/);
  return ours.error as DamagedObjectError;
}

describe('virtual sizes that are not a multiple of 512', () => {
  it.each([1000, 512 + 1, 3 * CS + 700, 1024 * 1024 + 100])('a header size of %i reads as whole sectors, as qemu does', async (size) => {
    const img = new SpecImage({ size });
    const data = img.alloc();
    img.write(data, textBytes(CS));
    img.setEntry(0, img.standard(data));
    const expected = Math.floor(size / 512) * 512;
    const file = join(dir, `size-${size}.qcow2`);
    writeFileSync(file, img.bytes());
    expect(JSON.parse(qemuImg('info', '--output=json', file))['virtual-size']).toBe(expected);
    const guest = await sameAsQemu(img);
    expect(guest.length).toBe(expected);
    const ours = await openQcow2(new MemoryRangeReader('spec.qcow2', img.bytes()));
    expect(ours.size).toBe(expected);
    for (const e of await collect(ours.extents())) expect(e.offset + e.length).toBeLessThanOrEqual(expected);
    await expect(ours.read(expected, Buffer.alloc(1))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('the zero flag (spec "Standard Cluster Descriptor", bit 0)', () => {
  it('is refused in a version 2 image, where it must be 0, as qemu refuses it', async () => {
    for (const host of [true, false]) {
      const img = new SpecImage({ size: 4 * CS, version: 2 });
      const data = img.alloc();
      img.write(data, textBytes(CS));
      img.setEntry(1, img.standard(host ? data : 0, { zero: true }));
      const err = await refusedLikeQemu(img, /Zero cluster entry found in pre-v3 image/);
      expect(err.message).toMatch(/L2 entry 1 describes a zero cluster in a version 2 image/);
    }
  });

  it('reads as zeros in a version 3 image, whatever the offset says', async () => {
    const img = new SpecImage({ size: 4 * CS });
    const data = img.alloc();
    img.write(data, textBytes(CS));
    img.setEntry(0, img.standard(data));
    img.setEntry(1, img.standard(data, { zero: true }));
    const guest = await sameAsQemu(img);
    expect(guest.subarray(CS, 2 * CS).every((b) => b === 0)).toBe(true);
  });
});

describe('compressed clusters (block/qcow2-threads.c)', () => {
  /** A compressed image whose cluster 0 holds `stream`; entry 1 (when given) points at the same bytes with `length2`. */
  function compressedImage(type: 'zlib' | 'zstd', stream: Uint8Array, length2?: number): SpecImage {
    const img = new SpecImage({ size: 4 * CS, compression: type });
    const data = img.alloc(Math.ceil(stream.length / CS));
    img.write(data, stream);
    img.setEntry(0, img.compressed(data, stream.length));
    if (length2 !== undefined) img.setEntry(1, img.compressed(data, length2));
    return img;
  }
  const twoClusters = textBytes(2 * CS, 7);
  // Half random, so the compressed stream is long enough to cut in two.
  const oneCluster = Buffer.concat([cryptoRandom(CS / 2), textBytes(CS / 2, 3)]);

  it('deflate: a stream that goes on past one cluster gives its first cluster, as qemu reads it', async () => {
    const guest = await sameAsQemu(compressedImage('zlib', deflateRawSync(twoClusters, { windowBits: 12 })));
    expect(guest.subarray(0, CS).equals(twoClusters.subarray(0, CS))).toBe(true);
  });

  it('zstd: a frame that decompresses to more than one cluster is refused, as qemu refuses it', async () => {
    const err = await refusedLikeQemu(compressedImage('zstd', zstdCompress(twoClusters)), /Input\/output error/);
    expect(err.message).toMatch(/more than one cluster/);
  });

  it('zstd: a cluster in one frame, then more frames, is read (what follows is ignored)', async () => {
    const stream = Buffer.concat([zstdCompress(oneCluster), zstdCompress(twoClusters)]);
    const guest = await sameAsQemu(compressedImage('zstd', stream));
    expect(guest.subarray(0, CS).equals(oneCluster)).toBe(true);
  });

  it.each(['zlib', 'zstd'] as const)('%s: a second entry at the same offset with fewer sectors is decompressed from its own bytes, and refused', async (type) => {
    const stream = type === 'zlib' ? deflateRawSync(oneCluster, { windowBits: 12 }) : zstdCompress(oneCluster);
    expect(stream.length).toBeGreaterThan(8192);
    // Alone, the whole stream reads fine; cut to 4096 bytes it cannot make a cluster.
    expect((await sameAsQemu(compressedImage(type, stream))).subarray(0, CS).equals(oneCluster)).toBe(true);
    const err = await refusedLikeQemu(compressedImage(type, stream, 4096), /Input\/output error/);
    expect(err.message).toMatch(/compressed cluster at \d+ (does not decompress|ends after|inflates to)/);
  });
});
