import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { BackupError, DamagedObjectError, InvalidInputError, NotFoundError, ObjectExistsError } from '../../errors';
import { TMP_DIR, type Backend, type ByteRange, type ObjectDraft, type ObjectInfo } from '../backend';

/** stat() calls in flight while listing. */
const STATS_AT_ONCE = 64;

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** The store's disk is full or read-only: nothing was written, say where. */
export class StoreWriteError extends BackupError {
  constructor(location: string, path: string, cause: NodeJS.ErrnoException) {
    const why = cause.code === 'ENOSPC' ? 'no space left on the store\'s disk'
      : cause.code === 'EROFS' ? 'the store\'s file system is read-only'
      : cause.code === 'EACCES' || cause.code === 'EPERM' ? 'permission denied'
      : cause.message;
    super(cause.code === 'ENOSPC' ? 'STORE_FULL' : 'STORE_WRITE_FAILED', `cannot write ${path} in ${location}: ${why}`, { cause });
  }
}

/**
 * A repository in a local folder. Writes go to a temporary file that is fsynced and then hard-linked
 * into place: link(2) fails with EEXIST instead of replacing, so an object is never overwritten, and
 * a reader sees a whole object or none.
 */
export class FsBackend implements Backend {
  private constructor(readonly location: string) {}

  static async open(root: string, options: { create?: boolean } = {}): Promise<FsBackend> {
    if (options.create) {
      const st = await stat(root).catch(() => undefined);
      if (st && !st.isDirectory()) throw new InvalidInputError(root, 'is a file, not a folder: a store is a folder of its own');
      await mkdir(root, { recursive: true }).catch((err: unknown) => {
        if (isErrno(err, 'ENOTDIR') || isErrno(err, 'EEXIST')) throw new InvalidInputError(root, 'a part of the path is a file, not a folder');
        if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) throw new InvalidInputError(root, 'permission denied: cannot create the folder');
        throw err;
      });
    } else {
      const st = await stat(root).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) throw new NotFoundError(`no repository at ${root}: the folder does not exist`);
        throw err;
      });
      if (!st.isDirectory()) throw new InvalidInputError(root, 'is not a folder');
    }
    return new FsBackend(root);
  }

  private file(path: string): string {
    if (path === '' || path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new InvalidInputError('object path', `${JSON.stringify(path)} is not a relative object path`);
    }
    return join(this.location, ...path.split('/'));
  }

  async get(path: string, range?: ByteRange): Promise<Uint8Array> {
    const handle = await open(this.file(path), 'r').catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(`${path} does not exist in ${this.location}`);
      throw err;
    });
    try {
      const size = (await handle.stat()).size;
      const offset = range?.offset ?? 0;
      const length = range?.length ?? size;
      if (offset + length > size) {
        throw new DamagedObjectError(path, `is ${size} bytes, cannot read ${length} bytes at ${offset}`);
      }
      const into = range?.into;
      const out = into && into.length >= length ? Buffer.from(into.buffer, into.byteOffset, length) : Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new DamagedObjectError(path, `ended after ${offset + done} bytes`);
        done += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    this.file(path); // an invalid path is refused before anything is written
    const draft = await this.draft(path);
    try {
      await draft.write(data);
      await draft.commit(path);
    } catch (err) {
      await draft.discard().catch(() => {
        // The write's own error is the one to report; prune removes temporary files left behind.
      });
      throw err;
    }
    await draft.discard();
  }

  /**
   * A temporary file in TMP_DIR, fsynced and hard-linked into place by commit(). `name` says in
   * errors before the commit what was being written (the object's path when it is already known).
   */
  async draft(name = 'a new object'): Promise<ObjectDraft> {
    const tmpDir = join(this.location, TMP_DIR);
    const tmp = join(tmpDir, randomBytes(16).toString('hex'));
    const failed = (path: string, err: unknown): unknown => {
      if (isErrno(err, 'EEXIST')) return new ObjectExistsError(`${path} in ${this.location}`);
      if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
        return new StoreWriteError(this.location, path, err as NodeJS.ErrnoException);
      }
      return err;
    };
    const handle = await mkdir(tmpDir, { recursive: true })
      .then(() => open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600))
      .catch((err: unknown) => {
        throw failed(name, err);
      });
    let position = 0;
    let closed = false;
    let linked = false;
    let removed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await handle.close();
    };
    return {
      write: async (data) => {
        try {
          for (let done = 0; done < data.length;) {
            const { bytesWritten } = await handle.write(data, done, data.length - done, position);
            done += bytesWritten;
            position += bytesWritten;
          }
        } catch (err) {
          throw failed(name, err);
        }
      },
      commit: async (path) => {
        const target = this.file(path);
        try {
          await handle.sync();
          await close();
          await mkdir(dirname(target), { recursive: true });
          await link(tmp, target);
          linked = true;
          await syncDir(dirname(target));
        } catch (err) {
          throw failed(path, err);
        }
      },
      discard: async () => {
        if (removed) return;
        removed = true;
        await close();
        // After a commit the object lives on under its own name: only the temporary name goes.
        if (linked) await unlink(tmp);
        else await rm(tmp, { force: true });
      },
    };
  }

  async *list(dir: string): AsyncIterable<ObjectInfo> {
    const start = dir === '' ? this.location : this.file(dir);
    const stack = [start];
    while (stack.length > 0) {
      const current = stack.pop() as string;
      let entries;
      try {
        entries = await readdir(current, { withFileTypes: true });
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      const files: string[] = [];
      for (const entry of entries) {
        const full = join(current, entry.name);
        if (entry.isDirectory()) stack.push(full);
        else if (entry.isFile()) files.push(full);
      }
      // Stat calls a batch at a time (libuv's threads work in parallel): one at a time, a folder of
      // 20,000 snapshots took 0.9 s to list.
      for (let i = 0; i < files.length; i += STATS_AT_ONCE) {
        const batch = files.slice(i, i + STATS_AT_ONCE);
        const stats = await Promise.all(batch.map((full) => stat(full).catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)))));
        for (const [k, st] of stats.entries()) {
          if (st) yield { path: relative(this.location, batch[k]).split(sep).join('/'), size: st.size, modified: st.mtime };
        }
      }
    }
  }

  async delete(path: string): Promise<void> {
    await rm(this.file(path), { force: true });
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.file(path));
      return st.isFile() ? { path, size: st.size, modified: st.mtime } : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  /**
   * The file system's clock, read from a file created for the purpose: on a network file system the
   * server stamps mtimes, and its clock may differ from this machine's. A folder we cannot write to
   * (a read-only mount) has only this machine's clock to offer.
   */
  async now(): Promise<Date> {
    const tmpDir = join(this.location, TMP_DIR);
    const probe = join(tmpDir, `clock-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(tmpDir, { recursive: true });
      const handle = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        return (await handle.stat()).mtime;
      } finally {
        await handle.close();
        await unlink(probe);
      }
    } catch (err) {
      if (isErrno(err, 'EROFS') || isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) return new Date();
      throw err;
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
