import { isQcow2, openQcow2 } from '../qcow2';
import type { DiskSource } from './disk-source';
import { FileRangeReader } from './range-reader';
import { RawFileSource } from './raw-file';

export interface OpenImageOptions {
  /** Things worth telling the user that do not stop the backup (e.g. QCOW2 internal snapshots ignored). */
  onWarning?: (message: string) => void;
}

/** Open a local disk image, recognising its container by content: QCOW2 by its magic, raw otherwise. */
export async function openDiskImage(path: string, options: OpenImageOptions = {}): Promise<DiskSource> {
  const reader = await FileRangeReader.open(path);
  let head: Uint8Array;
  try {
    head = await reader.read(0, Math.min(reader.size, 8));
  } catch (err) {
    await reader.close();
    throw err;
  }
  // openQcow2 owns the reader from here (it closes it on failure).
  if (isQcow2(head)) return openQcow2(reader, { onWarning: options.onWarning });
  return RawFileSource.fromReader(reader);
}
