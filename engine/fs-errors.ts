import { BackupError, InvalidInputError, NotFoundError } from './errors';

/** Turn a file-system errno error about a user's path into a typed error that names it. */
export function userPathError(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return new NotFoundError(`${path} does not exist`);
    case 'EACCES':
    case 'EPERM': return new InvalidInputError(path, 'permission denied');
    case 'EISDIR': return new InvalidInputError(path, 'is a folder, not a file');
    case 'ENOTDIR': return new InvalidInputError(path, 'a part of the path is not a folder');
    case 'ENOSPC': return new BackupError('DISK_FULL', `${path}: no space left on the device`, { cause: err });
    case 'EROFS': return new InvalidInputError(path, 'is on a read-only file system');
    default: return err;
  }
}
