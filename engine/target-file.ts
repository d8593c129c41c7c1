import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, basename } from 'node:path';
import { BackupError, FileTooLargeError, InvalidInputError, NotFoundError } from './errors';
import { userPathError } from './fs-errors';

export class TargetExistsError extends BackupError {
  constructor(target: string) {
    super('TARGET_EXISTS', `${target} already exists; choose another target or pass --overwrite`);
  }
}

/**
 * Write a file of `size` bytes (sparse until written) under a temporary name next to `target` and
 * rename it into place only when `write` succeeded, so a failed restore or dump never leaves a half-written
 * target (and never touches an existing one unless `overwrite`).
 */
export async function writeTargetFile<T>(target: string, overwrite: boolean, size: number, write: (handle: FileHandle, path: string) => Promise<T>): Promise<T> {
  const existing = await stat(target).catch(() => undefined);
  // Checked before anything is written: the rename at the end could not replace a folder.
  if (existing?.isDirectory()) throw new InvalidInputError(target, 'is a folder: give the path of the file to write');
  if (existing && !overwrite) throw new TargetExistsError(target);
  const tmp = `${target}.partial-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${dirname(target)} does not exist: create the folder to write ${basename(target)} into`);
    throw userPathError(target, err);
  });
  let closed = false;
  try {
    await handle.truncate(size).catch((err: unknown) => {
      throw (err as NodeJS.ErrnoException).code === 'EFBIG' ? new FileTooLargeError(target, size, { cause: err }) : userPathError(target, err);
    });
    const result = await write(handle, tmp);
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(tmp, target);
    return result;
  } catch (err) {
    if (!closed) await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A second descriptor of a file being written, opened with O_DIRECT (writes from our memory straight
 * to the disk: pipeline/target-writer.ts), or undefined where there is no such flag (not Linux) or
 * the file system refuses it (EINVAL, e.g. some FUSE and older tmpfs): then all writes go through
 * the page cache.
 */
export async function openDirect(path: string): Promise<FileHandle | undefined> {
  const direct = (constants as { O_DIRECT?: number }).O_DIRECT;
  if (!direct) return undefined;
  try {
    return await open(path, constants.O_WRONLY | direct);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw err;
  }
}
