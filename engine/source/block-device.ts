/**
 * The size of a block device (an attached Scaleway volume, an LVM logical volume, a Proxmox disk):
 * stat(2) gives a block device size 0, so the kernel's own count is read from sysfs,
 * /sys/dev/block/MAJOR:MINOR/size, in 512-byte sectors whatever the device's block size (Linux
 * Documentation/ABI/stable/sysfs-block, "size"). Node has no BLKGETSIZE64 ioctl.
 */
import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors';

/** Linux's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-39 (glibc sys/sysmacros.h). */
export function majorMinor(rdev: number): { major: number; minor: number } {
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  // Sums, not `|`: the high parts may pass 2^31, where JavaScript's bitwise operators turn negative.
  return {
    major: ((lo >>> 8) & 0xfff) + ((hi & 0xfffff000) >>> 0),
    minor: ((lo & 0xff) | ((lo >>> 12) & 0xfff00)) + (hi & 0xfff) * 2 ** 20,
  };
}

export async function blockDeviceSize(path: string, rdev: number, sysfs = '/sys'): Promise<number> {
  const { major, minor } = majorMinor(rdev);
  const file = `${sysfs}/dev/block/${major}:${minor}/size`;
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new InvalidInputError(path, `is a block device whose size cannot be read from ${file} (${(err as Error).message}); Linux with sysfs is needed to read block devices`);
  });
  const sectors = Number(text.trim());
  if (!Number.isSafeInteger(sectors) || sectors < 0) throw new InvalidInputError(path, `${file} says ${JSON.stringify(text.trim())}, not a sector count`);
  return sectors * 512;
}
