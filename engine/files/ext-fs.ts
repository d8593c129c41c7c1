import type { Ext2Disk, Ext2Fs, Ext2Stats } from 'ext2fs';
import { BackupError, DamagedObjectError, InvalidInputError, NotFoundError } from '../errors';
import type { DiskReader } from '../disk/disk-reader';
import { fileExtents, type FileExtent } from './ext-extents';

/** What `ls -l` shows of an inode (the file type comes from the mode, as in stat(2)). */
export interface FileInfo {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket' | 'unknown';
  /** st_mode: type and permission bits. */
  mode: number;
  ino: number;
  nlink: number;
  /** ext2fs gives the low 16 bits of ids (i_uid, i_gid), which is what nearly every system uses. */
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds: libext2fs's binding reads i_mtime, without the nanoseconds of the extra fields. */
  mtime: Date;
  atime: Date;
  /** A symlink's target, as stored. */
  target?: string;
}

/** S_IFMT (stat(2)) → our type names. */
const TYPES: Record<number, FileInfo['type']> = {
  0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo', 0o140000: 'socket',
};
const S_IFMT = 0o170000;
/** node-ext2fs open flags: O_RDONLY | O_NOATIME. Without O_NOATIME every read writes the inode's atime. */
const O_READ_NOATIME = 0o1000000;

/**
 * An ext2/3/4 file system inside a disk, read through libext2fs compiled to WebAssembly (the `ext2fs`
 * package), with a DiskReader (a stored snapshot) as its disk: read-only, without root, without a
 * kernel mount. The file system is hostile input: a read outside its volume is refused, writes are
 * refused, and libext2fs's failures become one-line errors naming the path and the volume.
 *
 * libext2fs reports a failed disk read as EIO; the reader's own error (a damaged pack, a lapsed lock,
 * Ctrl-C) is kept here and thrown instead.
 */
export class ExtFileSystem {
  private constructor(
    private readonly fs: Ext2Fs,
    private readonly name: string,
    private readonly errors: { last: unknown },
    private readonly volume: { disk: DiskReader; start: number; size: number },
  ) {}

  /** Mount the volume at [start, start + size) of `disk`; `name` names it in errors ("partition 2 of snapshot ..."). */
  static async mount(disk: DiskReader, start: number, size: number, name: string): Promise<ExtFileSystem> {
    const ext2fs = await import('ext2fs');
    const errors: { last: unknown } = { last: undefined };
    const refuse = (what: string): never => {
      throw (errors.last = new InvalidInputError(name, `libext2fs tried to ${what}, and this file system is read-only`));
    };
    const adapter: Ext2Disk = {
      read: async (buffer, bufferOffset, length, offset) => {
        if (offset < start || offset + length > start + size) {
          throw (errors.last = new DamagedObjectError(`the file system of ${name}`, `it refers to bytes ${offset - start}..${offset - start + length} outside its ${size}-byte volume`));
        }
        try {
          await disk.read(offset, buffer.subarray(bufferOffset, bufferOffset + length));
        } catch (err) {
          throw (errors.last = err);
        }
        return { bytesRead: length, buffer };
      },
      write: async () => refuse('write'),
      discard: async () => refuse('discard'),
      flush: async () => undefined,
    };
    try {
      return new ExtFileSystem(await ext2fs.mount(adapter, start), name, errors, { disk, start, size });
    } catch (err) {
      throw translate(err, errors.last, `the file system of ${name}`, 'cannot be opened');
    }
  }

  /** Run one libext2fs call; its failure becomes our error for `path`. */
  private async call<T>(path: string, what: string, fn: () => Promise<T>): Promise<T> {
    this.errors.last = undefined;
    try {
      return await fn();
    } catch (err) {
      throw translate(err, this.errors.last, `${path} in ${this.name}`, what);
    }
  }

  /** The inode at `path`, not following a final symlink (lstat). */
  async stat(path: string): Promise<FileInfo> {
    const s: Ext2Stats = await this.call(path, 'cannot be read', () => this.fs.promises.lstat(path));
    const type = TYPES[s.mode & S_IFMT] ?? 'unknown';
    const info: FileInfo = { path, type, mode: s.mode, ino: s.ino, nlink: s.nlink, uid: s.uid, gid: s.gid, size: s.size, mtime: s.mtime, atime: s.atime };
    if (type === 'symlink') info.target = await this.readlink(path);
    return info;
  }

  private async readlink(path: string): Promise<string> {
    const target = await this.call(path, 'cannot be read', () => this.fs.promises.readlink(path, { encoding: 'buffer' }));
    return utf8(target, `the symlink ${path} in ${this.name}`);
  }

  /** The names in directory `path` ('.' and '..' left out), in the order the directory holds them. */
  async list(path: string): Promise<string[]> {
    const names = await this.call(path, 'cannot be listed', () => this.fs.promises.readdir(path, { encoding: 'buffer' }));
    return names.map((n) => {
      const name = utf8(n, `a name in ${path} of ${this.name}`);
      // A hostile directory could hold names no file system allows; they would escape a dump's target.
      if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
        throw new DamagedObjectError(`the directory ${path} in ${this.name}`, `it holds an entry named ${JSON.stringify(name)}, which no file name may be`);
      }
      return name;
    });
  }

  /** Open a regular file for reading; read(position, into) returns the bytes read (0 at the end). */
  async open(path: string): Promise<{ read: (position: number, into: Buffer) => Promise<number>; close: () => Promise<void> }> {
    const { fd } = await this.call(path, 'cannot be opened', () => this.fs.promises.open(path, O_READ_NOATIME));
    return {
      read: async (position, into) => (await this.call(path, 'cannot be read', () => this.fs.promises.read(fd, into, 0, into.length, position))).bytesRead,
      close: () => this.call(path, 'cannot be closed', () => this.fs.promises.close(fd)),
    };
  }

  /**
   * A regular file's extents, as byte ranges of the disk, for reading it in large runs; undefined
   * when only libext2fs can read it (ext-extents.ts).
   */
  async extents(info: FileInfo): Promise<FileExtent[] | undefined> {
    const { disk, start, size } = this.volume;
    const extents = await fileExtents(disk, start, size, info.ino, info.size, `${info.path} in ${this.name}`);
    return extents?.map((e) => ({ ...e, physical: start + e.physical }));
  }

  /** Read `into.length` bytes of the disk at `offset` (a range `extents` gave). */
  readDisk(offset: number, into: Uint8Array): Promise<void> {
    return this.volume.disk.read(offset, into);
  }

  async unmount(): Promise<void> {
    const ext2fs = await import('ext2fs');
    await this.call('/', 'cannot be closed', () => ext2fs.umount(this.fs));
  }
}

/** libext2fs's error (errno-like codes; its messages dump the call's arguments) as one of ours. */
function translate(err: unknown, diskError: unknown, what: string, action: string): Error {
  if (diskError instanceof Error) return diskError;
  if (err instanceof BackupError) return err;
  const code = (err as { code?: string }).code;
  const errno = (err as { errno?: number }).errno;
  if (code === 'ENOENT') return new NotFoundError(`${what}: no such file or directory`);
  if (code === 'ENOTDIR') return new InvalidInputError(what, 'a component of the path is not a directory');
  // A trap of the WebAssembly code (lib "ES2022" has no WebAssembly types: matched by name).
  if (err instanceof Error && err.name === 'RuntimeError') return new DamagedObjectError(what, `libext2fs stopped on it (${err.message}): the file system is damaged`, { cause: err });
  // libext2fs's own error codes (EXT2_ET_*, e2fsprogs lib/ext2fs/ext2_err.et.in) come as large numbers.
  const detail = code && code !== 'UNKNOWN' ? code : `libext2fs error ${errno ?? String(err)}`;
  return new DamagedObjectError(what, `${action} (${detail}); run e2fsck on a restored copy to see why`);
}

/**
 * A name or link target as a string. ext2fs 4.2.5 ignores `encoding: 'buffer'` (its getOptions lets
 * the default win) and decodes as UTF-8, so a name that is not UTF-8 arrives with U+FFFD in it: it
 * could not be opened again by that name, and is refused rather than shown wrong.
 */
function utf8(b: Buffer | string, what: string): string {
  const s = typeof b === 'string' ? b : b.toString('utf8');
  if (s.includes('\uFFFD') || (typeof b !== 'string' && !Buffer.from(s, 'utf8').equals(b))) {
    throw new InvalidInputError(what, `is not UTF-8 (${JSON.stringify(s)}): not supported here; use serve --nbd and mount it (docs/FILES.md)`);
  }
  return s;
}
