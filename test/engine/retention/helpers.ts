import { randomBytes } from 'node:crypto';
import { readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FsBackend, RawFileSource, backupImage, checkRepository, findSnapshot, initRepository, openRepository, restoreImage,
  type Backend, type ByteRange, type ObjectInfo, type Repository, type Snapshot,
} from '../../../engine';
import type { Clock } from '../../../engine/clock';
import { AAD } from '../../../engine/crypto/seal';
import { PASS, TEST_INIT, writeImage } from '../../helpers';

/** A backend that delegates to another and lets a test step in before each call. */
export class HookedBackend implements Backend {
  beforePut?: (path: string) => Promise<void> | void;
  beforeDelete?: (path: string) => Promise<void> | void;
  beforeGet?: (path: string) => Promise<void> | void;
  beforeList?: (dir: string) => Promise<void> | void;
  constructor(readonly inner: Backend) {}
  get location(): string {
    return this.inner.location;
  }
  async get(path: string, range?: ByteRange): Promise<Uint8Array> {
    await this.beforeGet?.(path);
    return this.inner.get(path, range);
  }
  async put(path: string, data: Uint8Array): Promise<void> {
    await this.beforePut?.(path);
    return this.inner.put(path, data);
  }
  async *list(dir: string): AsyncIterable<ObjectInfo> {
    await this.beforeList?.(dir);
    yield* this.inner.list(dir);
  }
  async delete(path: string): Promise<void> {
    await this.beforeDelete?.(path);
    return this.inner.delete(path);
  }
  stat(path: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(path);
  }
  now(): Promise<Date> {
    return this.inner.now ? this.inner.now() : Promise.resolve(new Date());
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A folder store with 1 MiB packs and fixed 64 KiB chunks, and the cheap test KDF. */
export async function makeStore(path: string): Promise<Repository> {
  return initRepository(path, PASS, { ...TEST_INIT, packSize: 1 << 20 });
}

export async function reopen(location: string | Backend): Promise<Repository> {
  return openRepository(location, PASS);
}

/** Back up `data` as the file `name` in `dir` (its path is the snapshot's source location). */
export async function backupBytes(repo: Repository, dir: string, name: string, data: Uint8Array, hostname = 'host-a'): Promise<Snapshot> {
  const path = await writeImage(dir, name, data);
  const source = await RawFileSource.open(path);
  try {
    return await backupImage(repo, source, { hostname, workers: 0 });
  } finally {
    await source.close();
  }
}

/** Restore a snapshot and compare it with the expected bytes. */
export async function expectRestores(repo: Repository, snapshotId: string, expected: Uint8Array, dir: string): Promise<void> {
  const target = join(dir, `restore-${randomBytes(4).toString('hex')}.img`);
  await restoreImage(repo, await findSnapshot(repo, snapshotId), target);
  expect((await readFile(target)).equals(expected)).toBe(true);
}

/** check --read-data, with errors listed when there are any. */
export async function expectCheckClean(store: string | Backend | Repository, options: { warnings?: boolean } = {}): Promise<void> {
  const repo = typeof store === 'object' && 'index' in store ? store : await reopen(store);
  const result = await checkRepository(repo, { readData: true });
  expect(result.errors).toEqual([]);
  if (options.warnings === false) expect(result.warnings).toEqual([]);
}

/**
 * Write a lock file as another process (another host, or this one with another pid) would. With
 * `time`, the lock was last written then: on a folder store its file's mtime (the store's clock,
 * which judges staleness) is set to it too.
 */
export async function writeForeignLock(repo: Repository, info: { hostname?: string; pid?: number; exclusive: boolean; time?: string; operation?: string }): Promise<string> {
  const body = { time: info.time ?? new Date().toISOString(), hostname: info.hostname ?? 'other-host', username: 'ops', pid: info.pid ?? 4242, exclusive: info.exclusive, operation: info.operation };
  const path = `locks/${randomBytes(32).toString('hex')}`;
  await repo.backend.put(path, repo.keys.sealer.seal(AAD.lock, [Buffer.from(JSON.stringify(body))]));
  if (info.time) await ageObject(repo.backend, path, new Date(info.time));
  return path;
}

/** Make an object of a folder store look written at `when` by the store's clock (its mtime). */
export async function ageObject(backend: Backend, path: string, when: Date): Promise<void> {
  const inner = backend instanceof HookedBackend ? backend.inner : backend;
  if (!(inner instanceof FsBackend)) throw new Error(`ageObject needs a folder store, not ${inner.location}`);
  await utimes(join(inner.location, ...path.split('/')), when, when);
}

/** Paths under `dir`, sorted; '' lists every folder of a store. */
export async function listPaths(backend: Backend, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of dir === '' ? ['keys', 'packs', 'index', 'snapshots', 'locks'] : [dir]) {
    for await (const o of backend.list(d)) out.push(o.path);
  }
  return out.sort();
}

export { FsBackend };

/** This process's clocks, moved forward by shift(ms) as if that long had passed (a pause, a suspend). */
export function shiftedClock(): Clock & { shift(ms: number): void } {
  let offset = 0;
  return {
    wall: () => Date.now() + offset,
    monotonic: () => performance.now() + offset,
    shift: (ms: number) => {
      offset += ms;
    },
  };
}
