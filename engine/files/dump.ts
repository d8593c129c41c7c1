import { constants } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, open, readdir, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BackupError, DamagedObjectError, FileTooLargeError, InvalidInputError } from '../errors';
import { userPathError } from '../fs-errors';
import { ProgressReporter, type ProgressCallback } from '../progress';
import { writeTargetFile } from '../target-file';
import type { FileExtent } from './ext-extents';
import type { ExtFileSystem, FileInfo } from './ext-fs';

export interface DumpOptions {
  signal?: AbortSignal;
  /** Told about what was not written (device nodes, FIFOs, sockets). */
  onWarning?: (message: string) => void;
  onProgress?: ProgressCallback;
}

export interface DumpResult {
  /** The file or directory written. */
  target: string;
  files: number;
  directories: number;
  symlinks: number;
  /** Device nodes, FIFOs and sockets: not written (they need root, or mean nothing as a copy). */
  skipped: number;
  /** Bytes of file content (holes included). */
  bytes: number;
}

/** A hostile file system can nest directories without end; real trees are far shallower. */
const MAX_DEPTH = 1024;
const PIECE = 1024 * 1024;
/** All-zero blocks of this size are left as holes in the file written. */
const SPARSE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(SPARSE_BLOCK);
/** New files and directories: O_EXCL and O_NOFOLLOW, so that nothing already there (a symlink) is written through. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Write `path` of the file system to `target`: a file's content (holes stay holes), a symlink as a
 * symlink, a directory as a tree, each with its mode and times (and owner, when running as root).
 * Never overwrites and never follows a link: every name is created new (O_EXCL, O_NOFOLLOW, mkdir
 * and symlink fail on an existing name), and a symlink dumped is only ever created, never written
 * through, so no link in the snapshot can make the dump write outside `target`. When `target` is an
 * existing directory, the item goes inside it under its own name (as cp does); `/` then fills it,
 * and it must be empty.
 */
export async function dumpPath(fs: ExtFileSystem, path: string, target: string, options: DumpOptions = {}): Promise<DumpResult> {
  const info = await fs.stat(path);
  const existing = await lstat(target).catch(() => undefined);
  let dest = target;
  if (existing?.isDirectory()) {
    if (path === '/') {
      if ((await readdir(target)).length > 0) throw new InvalidInputError(target, 'is not empty: dump / into a new or empty folder');
    } else dest = join(target, basename(path));
  }
  if (dest !== target || !existing?.isDirectory()) {
    if (await lstat(dest).catch(() => undefined)) throw new InvalidInputError(dest, 'already exists: dump never overwrites; choose another target');
  }
  const result: DumpResult = { target: dest, files: 0, directories: 0, symlinks: 0, skipped: 0, bytes: 0 };
  const dumper = new Dumper(fs, options, result, info.type === 'file' ? info.size : undefined);
  if (info.type === 'file') {
    // One file is built under a temporary name and renamed into place when complete (target-file.ts).
    await writeTargetFile(dest, false, info.size, (handle) => dumper.content(info, handle));
    await dumper.attributes(info, dest);
    result.files++;
  } else await dumper.entry(info, dest, 0, new Set(), dest === target && existing?.isDirectory() === true);
  dumper.done();
  return result;
}

class Dumper {
  private readonly buffer = Buffer.allocUnsafe(PIECE);
  private readonly progress: ProgressReporter;
  private readonly root = process.getuid?.() === 0;

  constructor(private readonly fs: ExtFileSystem, private readonly options: DumpOptions, private readonly result: DumpResult, private readonly total?: number) {
    this.progress = new ProgressReporter(options.onProgress);
  }

  private report(force = false): void {
    this.progress.report({ phase: 'dump', bytesDone: this.result.bytes, bytesTotal: this.total, bytesNew: 0, bytesStored: 0 }, force);
  }

  done(): void {
    this.report(true);
  }

  /** Write one entry of a tree at `dest` (a new name; `exists` only for the empty folder `/` fills). */
  async entry(info: FileInfo, dest: string, depth: number, dirs: Set<number>, exists = false): Promise<void> {
    this.options.signal?.throwIfAborted();
    switch (info.type) {
      case 'dir':
        await this.directory(info, dest, depth, dirs, exists);
        return;
      case 'file': {
        const handle = await open(dest, CREATE_NEW, 0o600).catch((err: unknown) => {
          throw userPathError(dest, err);
        });
        try {
          // The final size first: a size the target cannot hold (a damaged inode claiming exabytes) fails here, not after reading it all.
          await handle.truncate(info.size).catch((err: unknown) => {
            throw (err as NodeJS.ErrnoException).code === 'EFBIG' ? new FileTooLargeError(dest, info.size, { cause: err }) : userPathError(dest, err);
          });
          await this.content(info, handle);
        } catch (err) {
          await handle.close();
          await rm(dest, { force: true });
          throw err;
        }
        await handle.close();
        await this.attributes(info, dest);
        this.result.files++;
        return;
      }
      case 'symlink':
        await symlink(info.target as string, dest).catch((err: unknown) => {
          throw userPathError(dest, err);
        });
        await this.attributes(info, dest);
        this.result.symlinks++;
        return;
      default:
        this.result.skipped++;
        this.options.onWarning?.(`${info.path} is a ${info.type === 'char' || info.type === 'block' ? `${info.type} device` : info.type}: not written`);
    }
  }

  private async directory(info: FileInfo, dest: string, depth: number, dirs: Set<number>, exists: boolean): Promise<void> {
    // A directory seen twice on one path (a hard-linked directory in a damaged file system) would loop for ever.
    if (dirs.has(info.ino)) throw new DamagedObjectError(`the directory ${info.path}`, 'it contains itself (a directory loop)');
    if (depth >= MAX_DEPTH) throw new DamagedObjectError(`the directory ${info.path}`, `it is nested more than ${MAX_DEPTH} deep`);
    if (!exists) {
      await mkdir(dest, 0o700).catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? new InvalidInputError(dest, 'already exists: dump never writes into what it did not create') : userPathError(dest, err);
      });
    }
    dirs.add(info.ino);
    const names = (await this.fs.list(info.path)).sort();
    for (const name of names) {
      const child = await this.fs.stat(info.path === '/' ? `/${name}` : `${info.path}/${name}`);
      await this.entry(child, join(dest, name), depth + 1, dirs);
    }
    dirs.delete(info.ino);
    // Last: the folder's mode may forbid writing into it, and writing into it changes its mtime.
    await this.attributes(info, dest);
    this.result.directories++;
  }

  /** Copy a regular file's bytes; all-zero blocks are left as holes (the file's size is set at the end). */
  async content(info: FileInfo, handle: FileHandle): Promise<void> {
    const extents = await this.fs.extents(info);
    if (extents) {
      await this.extentContent(extents, handle);
      // `bytes` counts holes too, as the block path's reads do.
      this.result.bytes += info.size - extents.reduce((n, e) => n + e.length, 0);
    } else await this.blockContent(info, handle);
    await handle.truncate(info.size);
  }

  /** Written from the file's extents, read in pieces of PIECE straight from the disk; what they do not map stays a hole. */
  private async extentContent(extents: FileExtent[], handle: FileHandle): Promise<void> {
    for (const e of extents) {
      for (let done = 0; done < e.length;) {
        this.options.signal?.throwIfAborted();
        const piece = this.buffer.subarray(0, Math.min(PIECE, e.length - done));
        await this.fs.readDisk(e.physical + done, piece);
        await writeSparse(handle, piece, e.logical + done);
        done += piece.length;
        this.result.bytes += piece.length;
        this.report();
      }
    }
  }

  /** Read through libext2fs, block by block underneath (files it alone can map). */
  private async blockContent(info: FileInfo, handle: FileHandle): Promise<void> {
    const file = await this.fs.open(info.path);
    try {
      for (let pos = 0; pos < info.size;) {
        this.options.signal?.throwIfAborted();
        const piece = this.buffer.subarray(0, Math.min(PIECE, info.size - pos));
        const n = await file.read(pos, piece);
        if (n <= 0) throw new DamagedObjectError(`${info.path}`, `its content ends at ${pos} bytes, its inode says ${info.size}`);
        await writeSparse(handle, piece.subarray(0, n), pos);
        pos += n;
        this.result.bytes += n;
        this.report();
      }
    } finally {
      await file.close();
    }
  }

  /** Mode, times and (as root) owner; a symlink gets its times and owner only (its mode means nothing on Linux). */
  async attributes(info: FileInfo, dest: string): Promise<void> {
    try {
      if (this.root) await lchown(dest, info.uid, info.gid);
      if (info.type === 'symlink') await lutimes(dest, info.atime, info.mtime);
      else {
        await chmod(dest, info.mode & 0o7777);
        await utimes(dest, info.atime, info.mtime);
      }
    } catch (err) {
      const e = userPathError(dest, err);
      throw e instanceof BackupError ? e : new BackupError('IO_ERROR', `${dest}: cannot set its mode, owner or times: ${(err as Error).message}`, { cause: err });
    }
  }
}

function isZero(b: Buffer, from: number, to: number): boolean {
  return b.subarray(from, to).equals(ZEROS.subarray(0, to - from));
}

/** Write `piece` at `position`: runs of blocks holding data are written, all-zero blocks skipped (holes). */
async function writeSparse(handle: FileHandle, piece: Buffer, position: number): Promise<void> {
  const n = piece.length;
  for (let b = 0; b < n;) {
    let end = Math.min(n, b + SPARSE_BLOCK);
    if (isZero(piece, b, end)) {
      b = end;
      continue;
    }
    while (end < n && !isZero(piece, end, Math.min(n, end + SPARSE_BLOCK))) end = Math.min(n, end + SPARSE_BLOCK);
    await writeAll(handle, piece.subarray(b, end), position + b);
    b = end;
  }
}

async function writeAll(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
