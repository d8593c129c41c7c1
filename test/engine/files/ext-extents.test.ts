/**
 * The ext4 extent reader a dump uses for large files (engine/files/ext-extents.ts), against file
 * systems made by mke2fs -d: the extents it finds give back every file byte for byte (a large file,
 * a sparse one whose extent tree is two levels deep, a file past the first block group); ext3 and
 * inline data are left to libext2fs; a tree pointing outside the volume or at itself is refused.
 * Inode locations come from debugfs (e2fsprogs), not from the code under test.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DamagedObjectError } from '../../../engine';
import { fileExtents, type FileExtent } from '../../../engine/files/ext-extents';
import { fileDisk, makeFileSystem, sh } from '../disk/fixtures';
import { tempDir } from '../../helpers';

let dir: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('scwb-ext-extents-');
});
afterAll(() => dir.cleanup());

const MiB = 1 << 20;

/** The inode number and where its 60-byte i_block lies in the image (debugfs's imap; i_block is at 0x28). */
function inodeOf(image: string, path: string): { ino: number; iBlock: number } {
  const ino = Number(/Inode: (\d+)/.exec(sh('debugfs', ['-R', `stat ${path}`, image]))?.[1]);
  const imap = sh('debugfs', ['-R', `imap <${ino}>`, image]);
  const m = /located at block (\d+), offset (0x[0-9a-f]+)/.exec(imap);
  if (!m) throw new Error(`debugfs imap: ${imap}`);
  const blockSize = Number(/Block size:\s+(\d+)/.exec(sh('dumpe2fs', ['-h', image]))?.[1]);
  return { ino, iBlock: Number(m[1]) * blockSize + Number(m[2]) + 0x28 };
}

/** The file as the extents give it: zeros where they map nothing. */
function assemble(image: Buffer, extents: FileExtent[], size: number): Buffer {
  const out = Buffer.alloc(size);
  for (const e of extents) image.copy(out, e.logical, e.physical, e.physical + e.length);
  return out;
}

function build(name: string, fs: string, bytes: number, files: Record<string, Buffer | ((p: string) => void)>): string {
  const from = join(dir.path, `${name}-tree`);
  mkdirSync(from);
  for (const [f, content] of Object.entries(files)) {
    if (typeof content === 'function') content(join(from, f));
    else writeFileSync(join(from, f), content);
  }
  const image = join(dir.path, `${name}.img`);
  makeFileSystem(image, fs, bytes, from);
  return image;
}

/** 40 islands of 4 KiB, 64 KiB apart: more extents than the inode's four, so a second level. */
function sparse(p: string): void {
  const fd = openSync(p, 'w');
  for (let i = 0; i < 40; i++) writeSync(fd, Buffer.alloc(4096, i + 1), 0, 4096, i * 65536);
  closeSync(fd);
}

it('maps a large file, a sparse one two levels deep and a small one back to their bytes', async () => {
  const big = randomBytes(24 * MiB + 123);
  const small = randomBytes(5000);
  const image = build('ext4', 'ext4', 64 * MiB, { 'big.bin': big, 'sparse.bin': sparse, 'small.bin': small });
  const bytes = readFileSync(image);
  const disk = fileDisk(image);
  try {
    for (const [name, want] of [['big.bin', big], ['small.bin', small], ['sparse.bin', readFileSync(join(dir.path, 'ext4-tree', 'sparse.bin'))]] as const) {
      const { ino } = inodeOf(image, `/${name}`);
      const extents = await fileExtents(disk, 0, bytes.length, ino, want.length, name);
      expect(extents).toBeDefined();
      expect(assemble(bytes, extents ?? [], want.length).equals(want)).toBe(true);
      if (name === 'sparse.bin') {
        expect((extents ?? []).length).toBeGreaterThan(4);
        expect(sh('debugfs', ['-R', `ex /${name}`, image])).toMatch(/^\s*0\/\s*1\s/m);
      }
    }
    // What libext2fs said of the file must agree: a size that differs leaves it to libext2fs.
    const { ino } = inodeOf(image, '/small.bin');
    expect(await fileExtents(disk, 0, bytes.length, ino, 4999, 'small.bin')).toBeUndefined();
  } finally {
    disk.close();
  }
});

it('leaves ext3 block maps and a directory to libext2fs', async () => {
  const image = build('ext3', 'ext3', 16 * MiB, { 'a.bin': randomBytes(300_000) });
  const disk = fileDisk(image);
  try {
    expect(await fileExtents(disk, 0, 16 * MiB, inodeOf(image, '/a.bin').ino, 300_000, 'a.bin')).toBeUndefined();
    expect(await fileExtents(disk, 0, 16 * MiB, 2, 4096, '/')).toBeUndefined();
  } finally {
    disk.close();
  }
});

it('refuses a tree that maps outside the volume, or that reaches a node twice', async () => {
  const image = build('hostile', 'ext4', 32 * MiB, { 'one.bin': randomBytes(MiB), 'deep.bin': sparse });
  const one = inodeOf(image, '/one.bin');
  const deep = inodeOf(image, '/deep.bin');
  const bytes = readFileSync(image);
  // one.bin: its first extent (i_block + 12: ee_block, ee_len, ee_start_hi, ee_start_lo) starts past the end of the volume.
  bytes.writeUInt32LE(0x00fffff0, one.iBlock + 12 + 8);
  // deep.bin: its root's one index entry (ei_leaf_lo at +4) points at the block holding the inode table, not a leaf:
  // made to point at itself by copying the leaf's block number into a second entry.
  const leaf = bytes.readUInt32LE(deep.iBlock + 12 + 4);
  bytes.copy(bytes, deep.iBlock + 24, deep.iBlock + 12, deep.iBlock + 24);
  bytes.writeUInt16LE(2, deep.iBlock + 2);
  bytes.writeUInt32LE(1, deep.iBlock + 24); // ei_block 1: a second index entry, same leaf
  expect(bytes.readUInt32LE(deep.iBlock + 24 + 4)).toBe(leaf);
  const hostile = join(dir.path, 'hostile-edited.img');
  writeFileSync(hostile, bytes);
  const disk = fileDisk(hostile);
  try {
    await expect(fileExtents(disk, 0, bytes.length, one.ino, MiB, 'one.bin')).rejects.toThrow(DamagedObjectError);
    await expect(fileExtents(disk, 0, bytes.length, one.ino, MiB, 'one.bin')).rejects.toThrow(/one\.bin is damaged: its extent tree maps bytes \d+\.\.\d+, outside its 33554432-byte volume/);
    await expect(fileExtents(disk, 0, bytes.length, deep.ino, 40 * 65536 - 65536 + 4096, 'deep.bin')).rejects.toThrow(/its extent tree reaches block \d+ twice/);
  } finally {
    disk.close();
  }
});
