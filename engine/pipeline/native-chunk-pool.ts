import type { SubKeys } from '../crypto/subkeys';
import { loadAddon } from '../native-addon';
import type { Batch } from './batch';
import type { ChunkPool } from './chunk-pool';

/** native/chunk-id.c's promise-returning call (it runs on libuv's thread pool). */
interface ChunkIdAsyncAddon {
  hmacSha256RangesAsync(key: Uint8Array, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number, ids: Uint8Array): Promise<number>;
}

/** native/seal.c */
interface SealAddon {
  createSealer(version: number, key: Uint8Array, level: number): unknown;
  sealBatch(
    sealer: unknown, type: number, data: Uint8Array, starts: Uint32Array, lengths: Uint32Array, ids: Uint8Array,
    count: number, out: Uint8Array, outLengths: Uint32Array,
  ): Promise<number>;
}

function addons(): { ids: ChunkIdAsyncAddon; seal: SealAddon } | undefined {
  const ids = loadAddon<Partial<ChunkIdAsyncAddon>>('chunk_id');
  const seal = loadAddon<SealAddon>('seal');
  // A chunk_id addon built before the async call existed has no hmacSha256RangesAsync.
  if (!ids?.hmacSha256RangesAsync || !seal) return undefined;
  return { ids: ids as ChunkIdAsyncAddon, seal };
}

/**
 * A backup's hashing and sealing on libuv's thread pool through our addons, instead of worker
 * threads: the same bytes (the format's scheme in C, compared with engine/crypto/seal.ts by the
 * tests) without a JavaScript isolate per thread, which was ~13 MiB each, nor the fresh buffers
 * Cipher.update() returns. At most `size` batch calls run at once, so libuv's other threads stay
 * free for the reader's file reads.
 */
export class NativeChunkPool implements ChunkPool {
  private running = 0;
  private readonly queued: Array<() => void> = [];
  private readonly sealer: unknown;

  /** The pool, or undefined when the addons were not built (the caller uses worker threads). */
  static create(keys: SubKeys, options: { threads: number; level?: number }): NativeChunkPool | undefined {
    const a = addons();
    return a && new NativeChunkPool(a, keys, options.threads, options.level ?? 1);
  }

  private constructor(
    private readonly addon: { ids: ChunkIdAsyncAddon; seal: SealAddon },
    private readonly keys: SubKeys,
    readonly size: number,
    level: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a native chunk pool needs at least one thread, not ${size}`);
    this.sealer = addon.seal.createSealer(keys.version, keys.encryption, level);
  }

  private async limited<T>(call: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.queued.push(resolve));
    else this.running++;
    try {
      return await call();
    } finally {
      // The slot passes straight to the next queued call, if any.
      const next = this.queued.shift();
      if (next) next();
      else this.running--;
    }
  }

  async register(): Promise<void> {
    // Nothing to share: each call takes the batch's arrays themselves.
  }

  async hash(batch: Batch): Promise<void> {
    await this.limited(() => this.addon.ids.hmacSha256RangesAsync(this.keys.chunkId, batch.data, batch.starts, batch.lengths, batch.count, batch.ids));
  }

  seal(batch: Batch, count: number, type: number): Promise<number> {
    return this.limited(() =>
      this.addon.seal.sealBatch(this.sealer, type, batch.data, batch.selStarts, batch.selLengths, batch.selIds, count, batch.out, batch.outLengths));
  }

  async close(): Promise<void> {
    // Calls in flight hold their own references; nothing else to release.
  }
}
