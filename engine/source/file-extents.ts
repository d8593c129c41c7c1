import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Extent } from './disk-source';

/** native/sparse: lseek(2) with SEEK_DATA / SEEK_HOLE; -1 stands for ENXIO. */
interface SparseAddon {
  seekData(fd: number, offset: number): number;
  seekHole(fd: number, offset: number): number;
}

const ADDON = join('native', 'sparse', 'build', 'Release', 'sparse.node');
let addon: SparseAddon | null | undefined;

/**
 * The addon is built by `npm ci` (the package's install script runs node-gyp). The same code runs
 * from engine/ (tests) and from dist/engine/ (the CLI), so the package root is found by walking up.
 */
export function loadSparseAddon(): SparseAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  for (let dir = __dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    const path = join(dir, ADDON);
    if (existsSync(path)) {
      // A present but unloadable addon (built for another Node ABI) is an installation error: say so.
      addon = require(path) as SparseAddon;
      break;
    }
  }
  return addon;
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
