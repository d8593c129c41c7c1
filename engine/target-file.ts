import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { BackupError } from './errors';
import { userPathError } from './fs-errors';

export class TargetExistsError extends BackupError {
  constructor(target: string) {
    super('TARGET_EXISTS', `${target} already exists; choose another target or pass --overwrite`);
  }
}

/**
 * Write a file under a temporary name next to `target` and rename it into place only when `write`
 * succeeded, so a failed restore never leaves a half-written target (and never touches an existing
 * one unless `overwrite`).
 */
export async function writeTargetFile<T>(target: string, overwrite: boolean, write: (handle: FileHandle) => Promise<T>): Promise<T> {
  if (!overwrite && (await stat(target).catch(() => undefined))) throw new TargetExistsError(target);
  const tmp = `${target}.partial-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600).catch((err: unknown) => {
    throw userPathError(target, err);
  });
  let closed = false;
  try {
    const result = await write(handle);
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
