import { readDiskLayout, chooseExtVolume, describeVolume, type DiskLayout, type Volume } from './disk/volumes';
import { InvalidInputError } from './errors';
import { dumpPath, type DumpOptions, type DumpResult } from './files/dump';
import { ExtFileSystem, type FileInfo } from './files/ext-fs';
import { SnapshotReader } from './source/snapshot-reader';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import type { Snapshot } from './store/snapshot';

/**
 * File-level restore (docs/FILES.md): a snapshot's partitions, and the files of its ext2/3/4 file
 * systems, read in place through a SnapshotReader under a shared lock (prune cannot remove what is
 * read; FORMAT.md §9). Nothing is restored first, nothing needs root.
 */
export interface SnapshotFilesOptions {
  /** The partition to read (its number, as Linux numbers them); default: the disk's only ext file system. */
  partition?: number;
  /** Read without locking the store (a read-only store or key). */
  noLock?: boolean;
  /** Ctrl-C: stops at the next read. */
  signal?: AbortSignal;
  /** Things worth telling that do not stop the command (a stale lock ignored, a FIFO not dumped). */
  onWarning?: (message: string) => void;
  /** Bytes of decrypted chunks the reader keeps (default 64 MiB). */
  cacheBytes?: number;
}

export interface PathListing {
  volume: Volume;
  /** The path asked for, normalised. */
  path: string;
  /** Whether it is a directory (then `entries` are its children, sorted by name; else the entry itself). */
  directory: boolean;
  entries: FileInfo[];
}

/** Run `fn` with the snapshot's disk open for random access, under a reader's lock. */
async function withSnapshotDisk<T>(repo: Repository, snapshot: Snapshot, operation: string, options: SnapshotFilesOptions, fn: (reader: SnapshotReader, name: string) => Promise<T>): Promise<T> {
  return withLock(repo, { operation, reader: true, noLock: options.noLock, snapshot, warn: options.onWarning, signal: options.signal }, async (lock) => {
    await repo.loadIndex();
    const reader = new SnapshotReader(repo, snapshot, { lock, signal: options.signal, cacheBytes: options.cacheBytes });
    try {
      return await fn(reader, `snapshot ${snapshot.id.slice(0, 12)}`);
    } finally {
      await reader.close();
    }
  });
}

/** Run `fn` on the ext file system chosen by `options.partition` (or the only one). */
async function withExtFileSystem<T>(repo: Repository, snapshot: Snapshot, operation: string, options: SnapshotFilesOptions, fn: (fs: ExtFileSystem, volume: Volume) => Promise<T>): Promise<T> {
  return withSnapshotDisk(repo, snapshot, operation, options, async (reader, name) => {
    const volume = chooseExtVolume(await readDiskLayout(reader, name), name, options.partition);
    const fs = await ExtFileSystem.mount(reader, volume.start, volume.size, describeVolume(volume, name));
    let failed = false;
    try {
      return await fn(fs, volume);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      // After a failure, the failure is what to report; an unmount that fails then adds nothing.
      await fs.unmount().catch((err: unknown) => {
        if (!failed) throw err;
      });
    }
  });
}

/** The snapshot's partition table and what each partition holds (`ls SNAPSHOT`). */
export function readSnapshotLayout(repo: Repository, snapshot: Snapshot, options: SnapshotFilesOptions = {}): Promise<DiskLayout> {
  return withSnapshotDisk(repo, snapshot, 'ls', options, (reader, name) => readDiskLayout(reader, name));
}

/** `ls -l PATH` inside the snapshot: a directory's entries (sorted by name), or the entry itself. */
export function listSnapshotPath(repo: Repository, snapshot: Snapshot, path: string, options: SnapshotFilesOptions = {}): Promise<PathListing> {
  const p = normalizePath(path);
  return withExtFileSystem(repo, snapshot, 'ls', options, async (fs, volume) => {
    const info = await fs.stat(p);
    if (info.type !== 'dir') return { volume, path: p, directory: false, entries: [info] };
    const entries: FileInfo[] = [];
    for (const name of (await fs.list(p)).sort()) {
      options.signal?.throwIfAborted();
      entries.push(await fs.stat(p === '/' ? `/${name}` : `${p}/${name}`));
    }
    return { volume, path: p, directory: true, entries };
  });
}

/** Write `path` of the snapshot's file system to `target` (files/dump.ts). */
export function dumpSnapshotPath(
  repo: Repository, snapshot: Snapshot, path: string, target: string, options: SnapshotFilesOptions & DumpOptions = {},
): Promise<DumpResult & { volume: Volume; path: string }> {
  const p = normalizePath(path);
  return withExtFileSystem(repo, snapshot, 'dump', options, async (fs, volume) => ({ ...await dumpPath(fs, p, target, options), volume, path: p }));
}

/** "etc//nginx/" → "/etc/nginx": paths inside the file system are absolute, without empty components. */
export function normalizePath(path: string): string {
  if (path.includes('\0')) throw new InvalidInputError(JSON.stringify(path), 'a path cannot contain a NUL byte');
  const parts = path.split('/').filter((x) => x !== '' && x !== '.');
  return '/' + parts.join('/');
}
