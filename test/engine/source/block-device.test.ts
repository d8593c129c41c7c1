/**
 * Block devices as backup sources, read-only (an attached Scaleway volume, an LVM or Proxmox disk):
 * the size comes from sysfs, the bytes are the device's. Against a real loop device when this
 * machine lets us make one (root and losetup, as the CI does); the dev_t arithmetic always.
 */
import { execFile } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidInputError } from '../../../engine';
import { majorMinor } from '../../../engine/source/block-device';
import { FileRangeReader } from '../../../engine/source/range-reader';
import { prng, tempDir } from '../../helpers';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** glibc's gnu_dev_makedev, in exact integer arithmetic. */
function makedev(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 2 ** 8 + Math.floor(minor / 2 ** 8) * 2 ** 20 + Math.floor(major / 2 ** 12) * 2 ** 44;
}

test('dev_t to major:minor, for small and for large numbers (Linux encoding, glibc sysmacros)', () => {
  for (const [major, minor] of [[7, 0], [254, 0], [8, 17], [259, 3], [4095, 255], [4096, 256], [65535, 1048575], [1 << 20, 1 << 19]]) {
    expect(majorMinor(makedev(major, minor))).toEqual({ major, minor });
  }
});

test('a loop device: read-only, its size from sysfs, the same bytes as its file', async () => {
  const dir = await tempDir('scwb-blockdev-');
  const file = join(dir.path, 'disk.raw');
  const data = prng(5)(8 * MiB);
  await writeFile(file, data);
  let device: string | undefined;
  try {
    try {
      device = (await run('losetup', ['--find', '--show', '--read-only', file])).stdout.trim();
    } catch (err) {
      // Not root, or no loop devices here: say so, the dev_t test above still ran.
      console.warn(`block device test not run: losetup failed (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    const st = await stat(device);
    expect(st.isBlockDevice()).toBe(true);
    const reader = await FileRangeReader.open(device, { location: 'scaleway-block://fr-par-1/vol' });
    try {
      expect(reader.size).toBe(8 * MiB);
      expect(reader.location).toBe('scaleway-block://fr-par-1/vol');
      expect([...reader.dataExtents()]).toEqual([{ offset: 0, length: 8 * MiB }]);
      expect(Buffer.from(await reader.read(3 * MiB + 7, 100_000)).equals(data.subarray(3 * MiB + 7, 3 * MiB + 7 + 100_000))).toBe(true);
      await expect(reader.read(8 * MiB - 10, 11)).rejects.toThrow(/runs past the end/);
    } finally {
      await reader.close();
    }
  } finally {
    if (device) await run('losetup', ['-d', device]);
    await dir.cleanup();
  }
});

test('neither a file nor a block device: refused by name', async () => {
  const dir = await tempDir('scwb-blockdev-');
  try {
    await expect(FileRangeReader.open(dir.path)).rejects.toThrow(InvalidInputError);
    await expect(FileRangeReader.open(dir.path)).rejects.toThrow(`${dir.path}: is neither a regular file nor a block device`);
  } finally {
    await dir.cleanup();
  }
});
