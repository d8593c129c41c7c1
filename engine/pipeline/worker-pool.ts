import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Compressor, Decompressor } from '../compress';
import { chunkIds } from '../crypto/chunk-id';
import { DamagedObjectError } from '../errors';
import type { SealVersion } from '../crypto/seal';
import type { SubKeys } from '../crypto/subkeys';
import type { Batch, BatchMemory } from './batch';
import { ChunkRestorer, sealRanges, type RestoreBlob } from './chunk-ops';
import type { RestoreTarget } from './target-writer';
import { youngGenerationGrowthSlowed } from '../young-generation';

export interface WorkerSetup {
  /** The store's format version (its sealing scheme and key derivation). */
  version: SealVersion;
  encryptionKey: Uint8Array;
  chunkIdKey: Uint8Array;
  level: number;
  /** Set the young-generation flag again in the worker (engine/young-generation.ts). */
  slowYoungGeneration: boolean;
}

export type WorkerRequest =
  | { op: 'register'; job: number; batch: number; memory: BatchMemory }
  | { op: 'restore'; job: number; target: RestoreTarget; packId: string; data: Uint8Array; blobs: RestoreBlob[] }
  | { op: 'drain'; job: number }
  | { op: 'hash'; job: number; batch: number; count: number }
  | { op: 'seal'; job: number; batch: number; count: number; type: number };

type WithoutJob<T> = T extends unknown ? Omit<T, 'job'> : never;

export interface WorkerReply {
  job: number;
  value?: number;
  error?: string;
  /** Set when the error was a DamagedObjectError, so it is rebuilt as one. */
  damaged?: { object: string; detail: string };
}

/** Default worker count: one per core, at most 8 (the main thread reads, cuts and looks up). */
export function defaultWorkers(): number {
  return Math.min(8, availableParallelism());
}

/**
 * Worker threads that hash and seal batches (backup) and verify and write chunks (restore). With `workers: 0` the same operations run inline on the
 * calling thread (tests, tiny inputs, debugging). Requests go to the least busy worker.
 */
export class WorkerPool {
  private readonly workers: Array<{ worker: Worker; busy: number }> = [];
  private readonly pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  private nextJob = 0;
  private registered = 0;
  private readonly inline?: { compressor: Compressor; decompressor: Decompressor; keys: SubKeys; restorer?: ChunkRestorer };

  constructor(keys: SubKeys, options: { workers?: number; level?: number } = {}) {
    const count = options.workers ?? defaultWorkers();
    const level = options.level ?? 1;
    if (count === 0) {
      this.inline = { compressor: new Compressor(level), decompressor: new Decompressor(), keys };
      return;
    }
    const setup: WorkerSetup = { version: keys.version, encryptionKey: keys.encryption, chunkIdKey: keys.chunkId, level, slowYoungGeneration: youngGenerationGrowthSlowed() };
    for (let i = 0; i < count; i++) {
      const worker = new Worker(workerScript(), { workerData: setup });
      const slot = { worker, busy: 0 };
      worker.on('message', (reply: WorkerReply) => {
        slot.busy--;
        const p = this.pending.get(reply.job);
        this.pending.delete(reply.job);
        if (reply.damaged) p?.reject(new DamagedObjectError(reply.damaged.object, reply.damaged.detail));
        else if (reply.error !== undefined) p?.reject(new Error(`chunk worker: ${reply.error}`));
        else p?.resolve(reply.value ?? 0);
      });
      worker.on('error', (err) => this.failAll(err));
      this.workers.push(slot);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private send(req: WithoutJob<WorkerRequest>, to?: { worker: Worker; busy: number }, transfer: ArrayBuffer[] = []): Promise<number> {
    const slot = to ?? this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const job = this.nextJob++;
    slot.busy++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      slot.worker.postMessage({ ...req, job }, transfer);
    });
  }

  /** Share a batch's memory with every worker once; later requests name it by number. */
  async register(batch: Batch): Promise<void> {
    batch.poolId = this.registered++;
    await Promise.all(this.workers.map((w) => this.send({ op: 'register', batch: batch.poolId, memory: batch.shared }, w)));
  }

  /** Fill batch.ids for its `count` chunks. */
  async hash(batch: Batch): Promise<void> {
    if (this.inline) {
      chunkIds(this.inline.keys.chunkId, batch.data, batch.starts, batch.lengths, batch.count, batch.ids);
      return;
    }
    await this.send({ op: 'hash', batch: batch.poolId, count: batch.count });
  }

  /** Seal the `count` selected chunks (batch.sel*) into batch.out; returns bytes written. */
  async seal(batch: Batch, count: number, type: number): Promise<number> {
    if (this.inline) {
      return sealRanges(this.inline.keys.sealer, this.inline.compressor, type, batch.data, batch.selStarts, batch.selLengths, batch.selIds, count, batch.out, batch.outLengths);
    }
    return this.send({ op: 'seal', batch: batch.poolId, count, type });
  }

  /**
   * Verify the blobs of a fetched pack range and write them to the target at their offsets (on a
   * worker). `data` in shared memory is shared with the worker, and free again when this settles;
   * any other `data` is handed over: the caller must not use it afterwards.
   */
  async restore(target: RestoreTarget, packId: string, data: Uint8Array, blobs: RestoreBlob[]): Promise<number> {
    if (this.inline) {
      this.inline.restorer ??= new ChunkRestorer({ keys: this.inline.keys, decompressor: this.inline.decompressor });
      return this.inline.restorer.restore(packId, target, data, blobs);
    }
    if (data.buffer instanceof SharedArrayBuffer) return this.send({ op: 'restore', target, packId, data, blobs });
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const payload = own ? data : Uint8Array.prototype.slice.call(data);
    return this.send({ op: 'restore', target, packId, data: payload, blobs }, undefined, [payload.buffer as ArrayBuffer]);
  }

  /**
   * Wait until every restored chunk handed to the workers is written (direct writes finish after
   * their request: TargetWriter); throws the first write error. Call before closing the target.
   */
  async drain(): Promise<void> {
    if (this.inline) {
      await this.inline.restorer?.drain();
      return;
    }
    await Promise.all(this.workers.map((w) => this.send({ op: 'drain' }, w)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }
}

/**
 * The compiled worker script. From dist/ it sits next to this file; when running from TypeScript
 * sources (jest), the compiled copy in dist/ is used (`npm test` builds first).
 */
function workerScript(): string {
  const here = join(__dirname, 'chunk-worker.js');
  if (existsSync(here)) return here;
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const compiled = join(dir, 'dist', 'engine', 'pipeline', 'chunk-worker.js');
    if (existsSync(compiled)) return compiled;
  }
  throw new Error('chunk-worker.js not found: run "npm run build"');
}
