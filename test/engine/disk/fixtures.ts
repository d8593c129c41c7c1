/**
 * Real disks for the file-level tests, made with the real tools: sgdisk (GPT), parted (MBR with an
 * extended partition), mke2fs -d (ext2/3/4 from a folder), mkfs.vfat and mkfs.xfs. Each file system
 * is made in its own file and copied into place at its partition's offset (mke2fs -E offset= zeroes
 * the disk's first sectors, the partition table with them).
 */
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, fstatSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { DiskReader } from '../../../engine/disk/disk-reader';

export function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Make `fs` (ext2/ext3/ext4/vfat/xfs) of `bytes` in a file of its own, filled from `from` (ext only). */
export function makeFileSystem(path: string, fs: string, bytes: number, from?: string): void {
  sh('truncate', ['-s', String(bytes), path]);
  if (fs.startsWith('ext')) sh('mke2fs', ['-q', '-F', '-t', fs, ...(from ? ['-d', from] : []), path]);
  else if (fs === 'vfat') sh('mkfs.vfat', ['-n', 'EFI', path]);
  else if (fs === 'xfs') sh('mkfs.xfs', ['-q', '-f', path]);
  else throw new Error(`no maker for ${fs}`);
}

/** Copy a file system image into `disk` at byte `offset`, keeping holes. */
export function place(disk: string, fsImage: string, offset: number): void {
  sh('dd', [`if=${fsImage}`, `of=${disk}`, 'bs=512', `seek=${offset / 512}`, 'conv=notrunc,sparse', 'status=none']);
}

/** A GPT disk of `mib` MiB: partition 1 an 8 MiB EFI system partition (vfat), partition 2 ext4 from `tree` to the end. */
export function gptDisk(dir: string, name: string, mib: number, tree: string): string {
  const disk = join(dir, name);
  sh('truncate', ['-s', `${mib}M`, disk]);
  sh('sgdisk', ['-o', '-n', '1:2048:18431', '-t', '1:ef00', '-c', '1:EFI', '-n', '2:18432:0', '-t', '2:8300', '-c', '2:root', disk]);
  const p2 = partedTable(disk)[1];
  makeFileSystem(join(dir, `${name}.p1`), 'vfat', 8 << 20);
  makeFileSystem(join(dir, `${name}.p2`), 'ext4', p2.size, tree);
  place(disk, join(dir, `${name}.p1`), 2048 * 512);
  place(disk, join(dir, `${name}.p2`), 18432 * 512);
  return disk;
}

/** An MBR disk (parted): 1 primary ext4, 2 extended holding 5 (logical ext2) and 6 (logical xfs). */
export function mbrDisk(dir: string, name: string, tree1: string, tree5: string): string {
  const disk = join(dir, name);
  sh('truncate', ['-s', '400M', disk]);
  sh('parted', ['-s', disk, 'mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', '17MiB', 'mkpart', 'extended', '17MiB', '100%',
    'mkpart', 'logical', 'ext2', '18MiB', '34MiB', 'mkpart', 'logical', 'xfs', '35MiB', '100%']);
  const parts = partedTable(disk);
  const fill: Record<number, [string, string | undefined]> = { 1: ['ext4', tree1], 5: ['ext2', tree5], 6: ['xfs', undefined] };
  for (const [n, [fs, from]] of Object.entries(fill)) {
    const p = parts.find((x) => x.number === Number(n)) as { start: number; size: number };
    makeFileSystem(join(dir, `${name}.p${n}`), fs, p.size, from);
    place(disk, join(dir, `${name}.p${n}`), p.start);
  }
  return disk;
}

/** parted's view of a disk's partitions, in bytes: the truth our reader is compared with. */
export function partedTable(disk: string): Array<{ number: number; start: number; size: number }> {
  return sh('parted', ['-s', '-m', disk, 'unit', 'B', 'print']).trim().split('\n').slice(2).map((line) => {
    const [number, start, , size] = line.split(':');
    return { number: Number(number), start: Number(start.replace('B', '')), size: Number(size.replace('B', '')) };
  });
}

/** An image file as a DiskReader. */
export function fileDisk(path: string): DiskReader & { close: () => void } {
  const fd = openSync(path, 'r');
  return {
    size: fstatSync(fd).size,
    read: async (offset, into) => {
      readSync(fd, into, 0, into.length, offset);
    },
    close: () => closeSync(fd),
  };
}
