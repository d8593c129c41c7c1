import { loadAddon } from '../native-addon';
import type { Extent } from './disk-source';

/** native/sparse.c: lseek(2) with SEEK_DATA / SEEK_HOLE; -1 stands for ENXIO. */
interface SparseAddon {
  seekData(fd: number, offset: number): number;
  seekHole(fd: number, offset: number): number;
}

export function loadSparseAddon(): SparseAddon | null {
  return loadAddon<SparseAddon>('sparse');
}

const EINVAL = 22;
const EOPNOTSUPP = 95;

/**
 * The data extents of an open regular file of `size` bytes, in order: holes of a sparse file are
 * never read (their bytes are zeros). Without the addon, or on a file system that does not support
 * SEEK_DATA (EINVAL), the whole file is one extent: correct, only slower.
 */
export function* fileDataExtents(fd: number, size: number): Generator<Extent> {
  const seek = loadSparseAddon();
  if (!seek || size === 0) {
    if (size > 0) yield { offset: 0, length: size };
    return;
  }
  let at = 0;
  while (at < size) {
    let data: number;
    let hole: number;
    try {
      data = seek.seekData(fd, at);
      hole = data < 0 ? -1 : seek.seekHole(fd, data);
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      if (at === 0 && (errno === EINVAL || errno === EOPNOTSUPP)) {
        yield { offset: 0, length: size };
        return;
      }
      throw err;
    }
    if (data < 0 || data >= size) return;
    // ENXIO from SEEK_HOLE (the file shrank meanwhile) or a hole past `size`: data runs to the end.
    const end = hole < 0 || hole > size ? size : hole;
    yield { offset: data, length: end - data };
    at = end;
  }
}
