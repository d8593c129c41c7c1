import type { SubKeys } from '../crypto/subkeys';
import type { Batch } from './batch';
import { NativeChunkPool } from './native-chunk-pool';
import { WorkerPool, defaultWorkers } from './worker-pool';

/** What the backup pipeline asks of the threads that hash and seal its batches. */
export interface ChunkPool {
  /** How many batches it works on at once. */
  readonly size: number;
  /** Make a batch's memory known before its first call. */
  register(batch: Batch): Promise<void>;
  /** Fill batch.ids for its `count` chunks. */
  hash(batch: Batch): Promise<void>;
  /** Seal the `count` selected chunks (batch.sel*) into batch.out; returns bytes written. */
  seal(batch: Batch, count: number, type: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * A backup's chunk pool: `threads` (default one per core) calls into our addons on libuv's thread
 * pool when they are built (NativeChunkPool), else worker threads; `threads: 0` runs inline on this
 * thread. `workerThreads` asks for worker threads even where the addons are built (the path an
 * install without a C toolchain takes, kept under test).
 */
export function backupChunkPool(keys: SubKeys, options: { threads?: number; workerThreads?: boolean; level?: number } = {}): ChunkPool {
  const threads = options.threads ?? defaultWorkers();
  const native = threads > 0 && !options.workerThreads ? NativeChunkPool.create(keys, { threads, level: options.level }) : undefined;
  return native ?? new WorkerPool(keys, { workers: threads, level: options.level });
}
