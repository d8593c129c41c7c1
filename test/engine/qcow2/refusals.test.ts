import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { BackupError, DamagedObjectError, InvalidInputError, UnsupportedFeatureError } from '../../../engine/errors';
import { openQcow2 } from '../../../engine/qcow2';
import { FileRangeReader } from '../../../engine/source/range-reader';
import { makeTempDir, MemoryRangeReader, MiB, qemuImg, qemuIo, readWhole, removeDir, toRaw } from './helpers';

let dir: string;
beforeAll(() => {
  dir = makeTempDir();
});
afterAll(() => removeDir(dir));

function plainImage(name: string, opts = ''): string {
  const file = join(dir, name);
  qemuImg('create', '-q', '-f', 'qcow2', ...(opts ? ['-o', opts] : []), file, String(4 * MiB));
  qemuIo(file, 'qcow2', 'write -P 0x61 0 1M');
  return file;
}

/**
 * fixtures/luks.qcow2.gz: what `luksImage`'s qemu-img command wrote with qemu-img 7.2 (Debian 12),
 * slot 0's key material zeroed so it compresses (the refusal reads only the qcow2 header).
 */
function luksFixture(name: string): string {
  const file = join(dir, name);
  writeFileSync(file, gunzipSync(readFileSync(join(__dirname, 'fixtures', 'luks.qcow2.gz'))));
  return file;
}

/**
 * A LUKS-encrypted qcow2 made by qemu-img. qemu times its PBKDF on the thread's CPU clock to pick
 * an iteration count, and where that clock is coarse (CI's sandbox) it fails every time with
 * "Unable to get accurate CPU usage": there the committed output of the same command stands in.
 */
function luksImage(name: string): string {
  const file = join(dir, name);
  try {
    qemuImg('create', '-q', '-f', 'qcow2', '--object', 'secret,id=sec0,data=123456', '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10', file, '1M');
  } catch (err) {
    if (!/accurate CPU usage/.test((err as Error).message)) throw err;
    return luksFixture(name);
  }
  return file;
}

/** Patch a copy of `file`: `patch` edits the bytes in place. Returns a reader over the copy. */
function patched(file: string, patch: (b: Buffer) => void): MemoryRangeReader {
  const bytes = Buffer.from(readFileSync(file));
  patch(bytes);
  return new MemoryRangeReader(`${file} (patched)`, bytes);
}

async function refusal(reader: Parameters<typeof openQcow2>[0]): Promise<BackupError> {
  const close = jest.spyOn(reader, 'close');
  try {
    const img = await openQcow2(reader);
    await img.close();
  } catch (err) {
    expect(err).toBeInstanceOf(BackupError);
    expect((err as Error).message).toContain(reader.location);
    // openQcow2 owns the reader: a refused image does not leak it.
    expect(close).toHaveBeenCalled();
    return err as BackupError;
  }
  throw new Error('the image was accepted');
}

describe('openQcow2 refuses', () => {
  it('LUKS encrypted images', async () => {
    const file = luksImage('luks.qcow2');
    const err = await refusal(await FileRangeReader.open(file));
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect((err as UnsupportedFeatureError).feature).toBe('encryption');
  });

  it('LUKS encrypted images: the committed qemu-img output', async () => {
    const err = await refusal(await FileRangeReader.open(luksFixture('luks-fixture.qcow2')));
    expect((err as UnsupportedFeatureError).feature).toBe('encryption');
  });

  it('legacy AES encryption (crypt_method 1)', async () => {
    const err = await refusal(patched(plainImage('aes.qcow2'), (b) => b.writeUInt32BE(1, 32)));
    expect((err as UnsupportedFeatureError).feature).toBe('encryption');
  });

  it('images with a backing file', async () => {
    const base = plainImage('base.qcow2');
    const over = join(dir, 'over.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', over);
    const err = await refusal(await FileRangeReader.open(over));
    expect((err as UnsupportedFeatureError).feature).toBe('backing-file');
  });

  it('images with an external data file', async () => {
    const file = join(dir, 'ext.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'ext.data')}`, file, '1M');
    const err = await refusal(await FileRangeReader.open(file));
    expect((err as UnsupportedFeatureError).feature).toBe('external-data-file');
  });

  it('unknown incompatible feature bits, naming them', async () => {
    const err = await refusal(patched(plainImage('unknown.qcow2'), (b) => b.writeUInt32BE(1 << 7, 76)));
    expect(err).toBeInstanceOf(UnsupportedFeatureError);
    expect((err as UnsupportedFeatureError).feature).toBe('incompatible-feature:7');
    // The feature name table names it when the image carries a name for the bit.
    const named = await refusal(
      patched(plainImage('named.qcow2'), (b) => {
        const ext = b.readUInt32BE(100);
        expect(b.readUInt32BE(ext)).toBe(0x6803f857);
        expect(b[ext + 8]).toBe(0); // first entry: incompatible bit 0, "dirty bit"
        b[ext + 9] = 9;
        b.writeUInt32BE(1 << 9, 76);
      }),
    );
    expect((named as UnsupportedFeatureError).feature).toBe('incompatible-feature:9');
    expect(named.message).toMatch(/"dirty bit"/);
    const high = await refusal(patched(plainImage('unknown63.qcow2'), (b) => b.writeUInt32BE(0x80000000, 72)));
    expect((high as UnsupportedFeatureError).feature).toBe('incompatible-feature:63');
  });

  it('the corrupt bit', async () => {
    const err = await refusal(patched(plainImage('corrupt.qcow2'), (b) => (b[79] |= 2)));
    expect((err as UnsupportedFeatureError).feature).toBe('corrupt');
  });

  it('unknown compression types, and a type that disagrees with its feature bit', async () => {
    const file = plainImage('ctype.qcow2');
    expect(readFileSync(file).readUInt32BE(100)).toBeGreaterThan(104); // qemu writes the field
    const unknown = await refusal(patched(file, (b) => ((b[104] = 2), (b[79] |= 8))));
    expect((unknown as UnsupportedFeatureError).feature).toBe('compression-type:2');
    expect(await refusal(patched(file, (b) => (b[104] = 1)))).toBeInstanceOf(DamagedObjectError);
  });

  it('bad magic, unknown versions, silly cluster sizes', async () => {
    const file = plainImage('magic.qcow2');
    expect(await refusal(patched(file, (b) => (b[0] = 0)))).toBeInstanceOf(InvalidInputError);
    expect(await refusal(patched(file, (b) => b.writeUInt32BE(1, 4)))).toBeInstanceOf(UnsupportedFeatureError);
    expect(await refusal(patched(file, (b) => b.writeUInt32BE(4, 4)))).toBeInstanceOf(UnsupportedFeatureError);
    expect(await refusal(patched(file, (b) => b.writeUInt32BE(8, 20)))).toBeInstanceOf(DamagedObjectError);
    expect(await refusal(patched(file, (b) => b.writeUInt32BE(22, 20)))).toBeInstanceOf(DamagedObjectError);
    expect(await refusal(new MemoryRangeReader('empty', new Uint8Array(0)))).toBeInstanceOf(InvalidInputError);
    expect(await refusal(new MemoryRangeReader('short', readFileSync(file).subarray(0, 50)))).toBeInstanceOf(DamagedObjectError);
  });

  it('virtual sizes of 2^53 and more and L1 tables that cannot hold the disk', async () => {
    const file = plainImage('big.qcow2');
    const huge = await refusal(patched(file, (b) => b.writeBigUInt64BE(2n ** 60n, 24)));
    expect(huge).toBeInstanceOf(InvalidInputError);
    // The image: 2^53 bytes, 2 MiB clusters, an L1 table that covers it, cut at 8 MiB.
    const edge = join(dir, 'edge.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', edge, '1T');
    const atSize = (name: string, size: bigint): MemoryRangeReader => {
      const b = Buffer.alloc(8 * MiB); // truncate -s 8M
      readFileSync(edge).copy(b);
      b.writeBigUInt64BE(size, 24);
      b.writeUInt32BE(0x00400000, 36);
      return new MemoryRangeReader(name, b);
    };
    const two53 = await refusal(atSize('2^53.qcow2', 2n ** 53n));
    expect(two53).toBeInstanceOf(InvalidInputError);
    expect(two53.message).toMatch(/virtual size 9007199254740992 bytes is more than 9007199254740991 \(2\^53 - 1\), the largest disk a snapshot can record/);
    // One byte less is the largest size taken; qemu drops its partial last sector.
    const largest = await openQcow2(atSize('largest.qcow2', 2n ** 53n - 1n));
    expect(largest.size).toBe(2 ** 53 - 512);
    const last = Buffer.alloc(512, 1);
    await largest.read(largest.size - 512, last);
    expect(last.every((x) => x === 0)).toBe(true);
    await largest.close();
    expect(await refusal(patched(file, (b) => b.writeBigUInt64BE(2n ** 50n, 24)))).toBeInstanceOf(DamagedObjectError);
    expect(await refusal(patched(file, (b) => b.writeUInt32BE(0x10000000, 36)))).toBeInstanceOf(DamagedObjectError);
    expect(await refusal(patched(file, (b) => b.writeBigUInt64BE(0n, 40)))).toBeInstanceOf(DamagedObjectError);
    expect(await refusal(patched(file, (b) => b.writeBigUInt64BE(0x30200n, 40)))).toBeInstanceOf(DamagedObjectError);
  });
});

describe('openQcow2 accepts with care', () => {
  it('internal snapshots: warns and reads the active layer', async () => {
    const file = plainImage('snap.qcow2');
    qemuImg('snapshot', '-c', 's1', file);
    qemuIo(file, 'qcow2', 'write -P 0x62 512k 1M');
    const warnings: string[] = [];
    const img = await openQcow2(await FileRangeReader.open(file), { onWarning: (m) => warnings.push(m) });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/1 internal snapshot/);
      expect(img.description.snapshots).toBe(1);
      const active = toRaw(file, join(dir, 'snap.raw'));
      expect((await readWhole(img)).equals(active)).toBe(true);
      expect(active[600 * 1024]).toBe(0x62);
    } finally {
      await img.close();
    }
  });

  it('lazy refcounts with the dirty bit: refcounts are not used for reading', async () => {
    const file = plainImage('lazy.qcow2', 'lazy_refcounts=on');
    const expected = toRaw(file, join(dir, 'lazy.raw'));
    const warnings: string[] = [];
    const img = await openQcow2(patched(file, (b) => (b[79] |= 1)), { onWarning: (m) => warnings.push(m) });
    expect(img.description.lazyRefcounts).toBe(true);
    expect((await readWhole(img)).equals(expected)).toBe(true);
    expect(warnings).toEqual([]);
    // A dirty bit without lazy refcounts is odd (qemu never writes it) but just as readable.
    const plain = plainImage('dirty.qcow2');
    const odd = await openQcow2(patched(plain, (b) => (b[79] |= 1)), { onWarning: (m) => warnings.push(m) });
    expect((await readWhole(odd)).equals(toRaw(plain, join(dir, 'dirty.raw')))).toBe(true);
    expect(warnings).toHaveLength(1);
  });

  it('unknown header extensions, compatible and autoclear bits are skipped', async () => {
    const file = plainImage('ext.qcow2');
    const expected = toRaw(file, join(dir, 'ext.raw'));
    const reader = patched(file, (b) => {
      // Insert an unknown extension before the existing ones: shift them by 16 bytes.
      const start = b.readUInt32BE(100);
      b.copy(b, start + 16, start, 4096 - 16);
      b.writeUInt32BE(0x12345678, start);
      b.writeUInt32BE(5, start + 4);
      b.write('hello', start + 8);
      b[87] |= 0x80; // compatible bit 7
      b[95] |= 0x40; // autoclear bit 6
    });
    const img = await openQcow2(reader);
    expect((await readWhole(img)).equals(expected)).toBe(true);
  });

  it('closes its reader', async () => {
    const reader = new MemoryRangeReader('m', readFileSync(plainImage('close.qcow2')));
    const img = await openQcow2(reader);
    await img.close();
    expect(reader.closed).toBe(true);
  });
});

it('leaves the images it opens untouched', async () => {
  const file = plainImage('ro.qcow2');
  const before = readFileSync(file);
  const img = await openQcow2(await FileRangeReader.open(file));
  await readWhole(img);
  for await (const e of img.extents()) expect(e.length).toBeGreaterThan(0);
  await img.close();
  expect(readFileSync(file).equals(before)).toBe(true);
});

describe('hostile layouts end in a DamagedObjectError', () => {
  let file: string;
  let l1: number;
  let l2: number;
  beforeAll(() => {
    file = join(dir, 'hostile.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', file, '1G');
    qemuIo(file, 'qcow2', 'write -P 0x61 0 256k', 'write -P 0x62 600M 64k');
    const b = readFileSync(file);
    l1 = Number(b.readBigUInt64BE(40));
    l2 = Number(b.readBigUInt64BE(l1) & 0x00fffffffffffe00n);
  });

  async function failsSomewhere(reader: MemoryRangeReader): Promise<BackupError> {
    try {
      const img = await openQcow2(reader);
      for await (const e of img.extents()) await img.read(e.offset, Buffer.alloc(Math.min(e.length, MiB)));
      await img.close();
    } catch (err) {
      expect(err).toBeInstanceOf(DamagedObjectError);
      return err as BackupError;
    }
    throw new Error('the image was accepted');
  }

  it('two L1 entries sharing one L2 table', async () => {
    const err = await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(b.readBigUInt64BE(l1), l1 + 8)));
    expect(err.message).toMatch(/same L2 table/);
  });

  it('an L1 entry pointing at the L1 table, or misaligned, or past the end', async () => {
    expect((await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(BigInt(l1), l1)))).message).toMatch(/L1 table itself/);
    expect((await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(BigInt(l2 + 512), l1)))).message).toMatch(/cluster boundary/);
    expect((await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(BigInt(b.length), l1)))).message).toMatch(/past the end/);
  });

  it('L2 entries pointing past the end, misaligned, or at the header as compressed data', async () => {
    const size = readFileSync(file).length;
    expect((await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(BigInt(size) | 2n ** 63n, l2)))).message).toMatch(/past the end/);
    expect((await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(BigInt(l2 + 512) | 2n ** 63n, l2)))).message).toMatch(/cluster boundary/);
    expect((await failsSomewhere(patched(file, (b) => b.writeBigUInt64BE(2n ** 62n, l2)))).message).toMatch(/outside the data area/);
  });

  it('a file truncated in the middle of its data', async () => {
    const bytes = readFileSync(file);
    const err = await failsSomewhere(new MemoryRangeReader(`${file} (truncated)`, bytes.subarray(0, bytes.length - 100_000)));
    expect(err.message).toMatch(/past the end/);
  });
});
