import { DamagedObjectError } from '../errors';
import { readAt, type DiskReader } from '../disk/disk-reader';

/**
 * Where a regular file's bytes lie in its ext4 volume, read from the inode's extent tree, so that a
 * dump reads a file in runs of megabytes instead of through libext2fs, which reads a file one block
 * per call (e2fsprogs lib/ext2fs/fileio.c, load_buffer): 262,144 calls across WebAssembly for 1 GiB.
 *
 * Layout from the kernel's ext4 documentation (Documentation/filesystems/ext4/: super.rst,
 * group_descr.rst, inodes.rst, ifork.rst). Anything this reader does not handle is left to libext2fs
 * (the answer is `undefined`): files without extents (ext2/3 block maps), inline data, the meta_bg
 * descriptor layout, an inode whose type or size disagrees with what libext2fs said of it. A tree that
 * points outside the volume, loops, or overlaps itself is damaged: refused by name, as libext2fs would.
 */
export interface FileExtent {
  /** Byte offset in the file. */
  logical: number;
  /** Byte offset in the volume. */
  physical: number;
  length: number;
}

const SUPERBLOCK_OFFSET = 1024;
const EXT2_MAGIC = 0xef53;
const EXTENT_MAGIC = 0xf30a;
const INCOMPAT_META_BG = 0x10;
const INCOMPAT_64BIT = 0x80;
const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
/** ext4_extent_header.eh_depth is at most 5 (EXT4_MAX_EXTENT_DEPTH, fs/ext4/ext4_extents.h). */
const MAX_DEPTH = 5;
/** ee_len above this marks an unwritten extent of (ee_len - 32768) blocks: it reads as zeros. */
const UNWRITTEN = 32768;

interface Geometry {
  blockSize: number;
  blocks: number;
  inodesPerGroup: number;
  inodeSize: number;
  descSize: number;
  descTable: number;
}

async function geometry(disk: DiskReader, start: number): Promise<Geometry | undefined> {
  const sb = await readAt(disk, start + SUPERBLOCK_OFFSET, 1024);
  if (sb.length < 1024 || sb.readUInt16LE(0x38) !== EXT2_MAGIC) return undefined;
  const logBlock = sb.readUInt32LE(0x18);
  if (logBlock > 6) return undefined;
  const blockSize = 1024 << logBlock;
  const incompat = sb.readUInt32LE(0x60);
  if (incompat & INCOMPAT_META_BG) return undefined;
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const descSize = is64 ? sb.readUInt16LE(0xfe) : 32;
  const inodeSize = sb.readUInt32LE(0x4c) >= 1 ? sb.readUInt16LE(0x58) : 128;
  const inodesPerGroup = sb.readUInt32LE(0x28);
  if (descSize < 32 || inodeSize < 128 || inodeSize > blockSize || inodesPerGroup === 0) return undefined;
  const blocks = sb.readUInt32LE(0x04) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  return { blockSize, blocks, inodesPerGroup, inodeSize, descSize, descTable: (sb.readUInt32LE(0x14) + 1) * blockSize };
}

/**
 * The file's extents in file order, or undefined when libext2fs should read it (above). `size` is
 * the volume's, `fileSize` and the inode number what libext2fs reported.
 */
export async function fileExtents(disk: DiskReader, start: number, size: number, ino: number, fileSize: number, what: string): Promise<FileExtent[] | undefined> {
  const g = await geometry(disk, start);
  if (!g || ino < 1) return undefined;
  const volumeBytes = Math.min(size, g.blocks * g.blockSize);
  const damaged = (why: string): never => {
    throw new DamagedObjectError(what, `its extent tree ${why}; run e2fsck on a restored copy`);
  };
  const group = Math.floor((ino - 1) / g.inodesPerGroup);
  const desc = await readAt(disk, start + g.descTable + group * g.descSize, g.descSize);
  if (desc.length < g.descSize) return undefined;
  const table = desc.readUInt32LE(0x08) + (g.descSize >= 64 ? desc.readUInt32LE(0x28) * 2 ** 32 : 0);
  const inodeAt = table * g.blockSize + ((ino - 1) % g.inodesPerGroup) * g.inodeSize;
  if (inodeAt + g.inodeSize > volumeBytes) return undefined;
  const inode = await readAt(disk, start + inodeAt, g.inodeSize);
  const mode = inode.readUInt16LE(0x00);
  const flags = inode.readUInt32LE(0x20);
  const inodeSize = inode.readUInt32LE(0x04) + inode.readUInt32LE(0x6c) * 2 ** 32;
  if ((mode & S_IFMT) !== S_IFREG || inodeSize !== fileSize || !(flags & EXTENTS_FL) || flags & INLINE_DATA_FL) return undefined;

  const out: FileExtent[] = [];
  const visited = new Set<number>();
  const fileBlocks = Math.ceil(fileSize / g.blockSize);
  const walk = async (node: Buffer, depth: number): Promise<void> => {
    if (node.readUInt16LE(0) !== EXTENT_MAGIC) damaged('has a node without the extent magic');
    const entries = node.readUInt16LE(2);
    if (node.readUInt16LE(6) !== depth || entries > node.readUInt16LE(4) || 12 + entries * 12 > node.length) damaged('has a malformed node');
    for (let i = 0; i < entries; i++) {
      const e = 12 + i * 12;
      if (depth > 0) {
        const child = node.readUInt32LE(e + 4) + node.readUInt16LE(e + 8) * 2 ** 32;
        if (child >= g.blocks || (child + 1) * g.blockSize > volumeBytes) damaged(`points at block ${child}, outside the file system's volume`);
        if (visited.has(child)) damaged(`reaches block ${child} twice`);
        visited.add(child);
        await walk(await readAt(disk, start + child * g.blockSize, g.blockSize), depth - 1);
        continue;
      }
      const logical = node.readUInt32LE(e);
      const raw = node.readUInt16LE(e + 4);
      const blocks = raw > UNWRITTEN ? raw - UNWRITTEN : raw;
      const physical = node.readUInt32LE(e + 8) + node.readUInt16LE(e + 6) * 2 ** 32;
      // Unwritten extents and blocks past the end of the file read as zeros, like holes.
      if (raw > UNWRITTEN || logical >= fileBlocks) continue;
      if ((physical + blocks) * g.blockSize > size) damaged(`maps bytes ${physical * g.blockSize}..${(physical + blocks) * g.blockSize}, outside its ${size}-byte volume`);
      if (physical + blocks > g.blocks) damaged(`maps blocks ${physical}..${physical + blocks}, past the file system's ${g.blocks} blocks`);
      const used = Math.min(blocks, fileBlocks - logical);
      out.push({ logical: logical * g.blockSize, physical: physical * g.blockSize, length: Math.min(used * g.blockSize, fileSize - logical * g.blockSize) });
    }
  };
  const root = inode.subarray(0x28, 0x28 + 60);
  const depth = root.readUInt16LE(6);
  if (depth > MAX_DEPTH) damaged(`is ${depth} levels deep (at most ${MAX_DEPTH})`);
  await walk(root, depth);
  out.sort((a, b) => a.logical - b.logical);
  for (let i = 1; i < out.length; i++) {
    if (out[i].logical < out[i - 1].logical + out[i - 1].length) damaged(`maps byte ${out[i].logical} of the file twice`);
  }
  return out;
}
