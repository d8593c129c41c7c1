/**
 * Partition tables (engine/disk/partitions.ts) against what sgdisk and parted wrote, and hostile
 * tables: a damaged primary GPT (the backup is read), both damaged, absurd entry counts, an EBR chain
 * that loops, a partition past the end of the disk, a FAT boot sector that only looks like an MBR.
 */
import { crc32 } from 'node:zlib';
import { closeSync, fstatSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DamagedObjectError } from '../../../engine';
import { readPartitionTable } from '../../../engine/disk/partitions';
import { readDiskLayout } from '../../../engine/disk/volumes';
import { tempDir } from '../../helpers';
import { fileDisk, gptDisk, makeFileSystem, mbrDisk, partedTable, sh } from './fixtures';

let dir: { path: string; cleanup: () => Promise<void> };
let gpt: string;
let mbr: string;

beforeAll(async () => {
  dir = await tempDir('scwb-parts-');
  const tree = join(dir.path, 'tree');
  sh('mkdir', ['-p', tree]);
  writeFileSync(join(tree, 'hello.txt'), 'hello\n');
  gpt = gptDisk(dir.path, 'gpt.img', 48, tree);
  mbr = mbrDisk(dir.path, 'mbr.img', tree, tree);
});
afterAll(() => dir.cleanup());

async function table(path: string) {
  const disk = fileDisk(path);
  try {
    return await readPartitionTable(disk, path);
  } finally {
    disk.close();
  }
}

/** A sparse copy of `src` with `edit` applied to its first 64 MiB (all of the GPT disk, the MBR disk's tables). */
function edited(src: string, name: string, edit: (b: Buffer) => void): string {
  const out = join(dir.path, name);
  sh('cp', ['--sparse=always', src, out]);
  const fd = openSync(out, 'r+');
  const b = Buffer.alloc(Math.min(64 << 20, fstatSync(fd).size));
  readSync(fd, b, 0, b.length, 0);
  edit(b);
  writeSync(fd, b, 0, b.length, 0);
  closeSync(fd);
  return out;
}

it('reads a GPT as parted does, with types and names', async () => {
  const t = await table(gpt);
  expect(t?.scheme).toBe('gpt');
  expect(t?.partitions.map(({ number, start, size }) => ({ number, start, size }))).toEqual(partedTable(gpt));
  expect(t?.partitions.map((p) => [p.typeName, p.name])).toEqual([['EFI System', 'EFI'], ['Linux filesystem', 'root']]);
});

it('reads an MBR with logical partitions in an extended one, numbered as Linux does', async () => {
  const t = await table(mbr);
  expect(t?.scheme).toBe('mbr');
  // parted lists the extended partition (2) too; it holds no file system and is not a volume.
  expect(t?.partitions.map(({ number, start, size }) => ({ number, start, size }))).toEqual(partedTable(mbr).filter((p) => p.number !== 2));
  const disk = fileDisk(mbr);
  const layout = await readDiskLayout(disk, 'mbr');
  disk.close();
  expect(layout.volumes.map((v) => [v.partition?.number, v.fs.type])).toEqual([[1, 'ext4'], [5, 'ext2'], [6, 'xfs']]);
});

it('falls back to the backup GPT when the primary header is damaged, and refuses a disk with both damaged', async () => {
  const primaryBad = edited(gpt, 'gpt-primary-bad.img', (b) => (b[512 + 40] ^= 1));
  expect((await table(primaryBad))?.partitions.map((p) => p.number)).toEqual([1, 2]);
  const bothBad = edited(gpt, 'gpt-both-bad.img', (b) => {
    b[512 + 40] ^= 1;
    b[b.length - 512 + 40] ^= 1;
  });
  await expect(table(bothBad)).rejects.toThrow(/neither the primary nor the backup GPT header/);
});

it('refuses a GPT announcing more entries than any tool writes, even with valid CRCs', async () => {
  const huge = edited(gpt, 'gpt-huge.img', (b) => {
    for (const at of [512, b.length - 512]) {
      const h = b.subarray(at, at + 92);
      h.writeUInt32LE(1 << 20, 80);
      h.writeUInt32LE(0, 16);
      h.writeUInt32LE(crc32(h), 16);
    }
  });
  await expect(table(huge)).rejects.toThrow(DamagedObjectError);
  await expect(table(huge)).rejects.toThrow(/announces 1048576 entries/);
});

it('refuses an EBR chain that loops, and a partition past the end of the disk', async () => {
  expect((await table(mbr))?.partitions).toHaveLength(3);
  const self = edited(mbr, 'mbr-self.img', (b) => {
    const extended = b.readUInt32LE(446 + 16 + 8); // record 2: the extended partition's first sector
    const ebr2 = extended + b.readUInt32LE(extended * 512 + 446 + 16 + 8);
    // The second EBR's "next" (relative to the extended partition) points at itself.
    b.writeUInt32LE(ebr2 - extended, ebr2 * 512 + 446 + 16 + 8);
    b[ebr2 * 512 + 446 + 16 + 4] = 0x05;
  });
  await expect(table(self)).rejects.toThrow(/loops back to sector/);
  const past = edited(mbr, 'mbr-past.img', (b) => b.writeUInt32LE(0x7fffffff, 446 + 12));
  await expect(table(past)).rejects.toThrow(/runs past the end of the/);
});

it('takes a FAT boot sector (0xAA55 too) for a whole-disk file system, not for a table', async () => {
  const fat = join(dir.path, 'fat.img');
  makeFileSystem(fat, 'vfat', 32 << 20);
  expect(await table(fat)).toBeUndefined();
  const disk = fileDisk(fat);
  const layout = await readDiskLayout(disk, 'fat');
  disk.close();
  expect(layout.table).toBeUndefined();
  expect(layout.volumes.map((v) => v.fs.type)).toEqual(['vfat']);
});
