import { isQcow2, openQcow2 } from '../qcow2';
import type { DiskSource } from './disk-source';
import { chooseImageFormat, notQcow2Error, rawLookalikeWarning, type ImageFormat } from './image-format';
import { FileRangeReader } from './range-reader';
import { RawFileSource } from './raw-file';

export interface OpenImageOptions {
  /** Things worth telling the user that do not stop the backup (e.g. QCOW2 internal snapshots ignored). */
  onWarning?: (message: string) => void;
  /**
   * What the caller knows the image is. Without it: QCOW2 when the name ends in `.qcow2`, else raw
   * (docs/QCOW2.md "Which format a backup reads"); never from the content alone.
   */
  format?: ImageFormat;
}

/**
 * Open a local disk image as the format the caller or its name says (image-format.ts). The content
 * is only checked: a QCOW2 without the magic is refused, and a raw file by default that starts with
 * it is read byte for byte, with a warning.
 */
export async function openDiskImage(path: string, options: OpenImageOptions = {}): Promise<DiskSource> {
  const choice = chooseImageFormat(path, options.format);
  const reader = await FileRangeReader.open(path);
  let magic: boolean;
  try {
    magic = isQcow2(await reader.read(0, Math.min(reader.size, 4)));
  } catch (err) {
    await reader.close();
    throw err;
  }
  if (choice.format === 'qcow2') {
    if (!magic) {
      await reader.close();
      throw notQcow2Error(path, choice.reason);
    }
    // openQcow2 owns the reader from here (it closes it on failure).
    return openQcow2(reader, { onWarning: options.onWarning, formatReason: choice.reason });
  }
  if (magic && choice.reason === 'default') options.onWarning?.(rawLookalikeWarning(path));
  // Disks are made of 512-byte sectors (hypervisors and qemu round a raw image down to them): an odd
  // size often means a file that is not a disk image, or one cut short.
  if (reader.size % 512 !== 0) {
    options.onWarning?.(`${path}: ${reader.size} bytes is not a whole number of 512-byte sectors, as a disk image usually is; backed up byte for byte as it is`);
  }
  return RawFileSource.fromReader(reader, choice.reason);
}
