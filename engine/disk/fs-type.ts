import { readAt, type DiskReader } from './disk-reader';

/** What a volume holds, by the magic numbers blkid looks for. */
export interface FileSystemType {
  /** blkid's names: ext2, ext3, ext4, xfs, btrfs, vfat, ntfs, swap, LVM2_member, crypto_LUKS, iso9660; or unknown. */
  type: string;
  label?: string;
}

/** ext2/3/4 superblock: 1024 bytes in; s_magic 0xEF53 at 56 (e2fsprogs lib/ext2fs/ext2_fs.h). */
const EXT_SUPERBLOCK = 1024;
const EXT_MAGIC = 0xef53;
/** s_feature_compat HAS_JOURNAL; s_feature_incompat EXTENTS, 64BIT, FLEX_BG: what makes ext3 and ext4. */
const EXT3_HAS_JOURNAL = 0x4;
const EXT4_INCOMPAT = 0x40 | 0x80 | 0x200;
/** btrfs superblock at 64 KiB, magic "_BHRfS_M" at 0x40 in it. */
const BTRFS_SUPERBLOCK = 65536;

export function isExt(t: FileSystemType): boolean {
  return t.type === 'ext2' || t.type === 'ext3' || t.type === 'ext4';
}

/** The file system (or other content) at `offset` of `disk`, from its first 68 KiB. */
export async function identifyFileSystem(disk: DiskReader, offset: number, size: number): Promise<FileSystemType> {
  const head = await readAt(disk, offset, Math.min(size, BTRFS_SUPERBLOCK + 4096));
  const at = (o: number, text: string) => head.length >= o + text.length && head.toString('latin1', o, o + text.length) === text;
  if (head.length >= EXT_SUPERBLOCK + 1024 && head.readUInt16LE(EXT_SUPERBLOCK + 56) === EXT_MAGIC) {
    const compat = head.readUInt32LE(EXT_SUPERBLOCK + 92);
    const incompat = head.readUInt32LE(EXT_SUPERBLOCK + 96);
    const type = incompat & EXT4_INCOMPAT ? 'ext4' : compat & EXT3_HAS_JOURNAL ? 'ext3' : 'ext2';
    return { type, label: cString(head.subarray(EXT_SUPERBLOCK + 120, EXT_SUPERBLOCK + 136)) };
  }
  if (at(0, 'XFSB')) return { type: 'xfs', label: cString(head.subarray(108, 120)) };
  if (at(BTRFS_SUPERBLOCK + 64, '_BHRfS_M')) return { type: 'btrfs', label: cString(head.subarray(BTRFS_SUPERBLOCK + 0x12b, BTRFS_SUPERBLOCK + 0x22b)) };
  if (at(0, 'LUKS\xba\xbe')) return { type: 'crypto_LUKS' };
  if (at(512, 'LABELONE') && at(512 + 24, 'LVM2 001')) return { type: 'LVM2_member' };
  if (at(3, 'NTFS    ')) return { type: 'ntfs' };
  if (head.length >= 512 && head.readUInt16LE(510) === 0xaa55 && (at(82, 'FAT32   ') || at(54, 'FAT16   ') || at(54, 'FAT12   '))) {
    const labelAt = at(82, 'FAT32   ') ? 71 : 43;
    return { type: 'vfat', label: cString(head.subarray(labelAt, labelAt + 11))?.trim() || undefined };
  }
  if (at(4096 - 10, 'SWAPSPACE2') || at(4096 - 10, 'SWAP-SPACE')) return { type: 'swap' };
  if (at(32769, 'CD001')) return { type: 'iso9660' };
  return { type: 'unknown' };
}

function cString(b: Buffer): string | undefined {
  const nul = b.indexOf(0);
  const s = b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
  return s === '' ? undefined : s;
}
