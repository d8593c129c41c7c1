import { ID_LENGTH } from '../crypto/chunk-id';
import { MAX_SEAL_OVERHEAD } from '../crypto/seal';
import { alignUp, alignedShared } from './aligned-memory';

/**
 * A batch of chunks in shared memory, reused from a small ring: the chunk bytes, their ranges, and
 * room for what the workers compute (ids, sealed blobs). Nothing in it is allocated per
 * chunk, and workers read and write it without copies. With fixed-size chunks the reader reads a
 * window of the disk straight into `data` and the chunks are recorded in place (`pushInPlace`);
 * content-defined chunks, which span windows, are copied in (`push`).
 */
export class Batch {
  readonly data: Buffer;
  readonly starts: Uint32Array;
  readonly lengths: Uint32Array;
  readonly ids: Uint8Array;
  /** The chunks selected for sealing (new to the store), compacted. */
  readonly selStarts: Uint32Array;
  readonly selLengths: Uint32Array;
  readonly selIds: Uint8Array;
  readonly out: Buffer;
  readonly outLengths: Uint32Array;
  readonly shared: BatchMemory;
  /** Set by WorkerPool.register: how workers name this batch. */
  poolId = -1;
  /** Bytes of chunk data in the batch, and chunk count. */
  used = 0;
  count = 0;

  /** Bytes of shared memory a batch's data and sealed output take (see `region`). */
  static regionBytes(capacity: number, maxChunks: number): number {
    return alignUp(capacity) + alignUp(Batch.outCapacity(capacity, maxChunks));
  }

  private static outCapacity(capacity: number, maxChunks: number): number {
    return capacity + maxChunks * (MAX_SEAL_OVERHEAD + 1);
  }

  /**
   * `region`: where in a page-aligned shared memory (aligned-memory.ts) this batch's data and
   * sealed output live, `regionBytes` from `offset` (a multiple of ALIGNMENT); by default its own.
   */
  constructor(readonly capacity: number, readonly maxChunks: number, region?: { bytes: SharedArrayBuffer; offset: number }) {
    const sab = (n: number) => new SharedArrayBuffer(Math.max(n, 8));
    const outCapacity = Batch.outCapacity(capacity, maxChunks);
    const { bytes, offset } = region ?? { bytes: alignedShared(Batch.regionBytes(capacity, maxChunks)), offset: 0 };
    this.shared = {
      bytes,
      dataOffset: offset,
      capacity,
      outOffset: offset + alignUp(capacity),
      outCapacity,
      starts: sab(maxChunks * 4),
      lengths: sab(maxChunks * 4),
      ids: sab(maxChunks * ID_LENGTH),
      selStarts: sab(maxChunks * 4),
      selLengths: sab(maxChunks * 4),
      selIds: sab(maxChunks * ID_LENGTH),
      outLengths: sab(maxChunks * 4),
    };
    const s = this.shared;
    this.data = Buffer.from(s.bytes, s.dataOffset, s.capacity);
    this.starts = new Uint32Array(s.starts);
    this.lengths = new Uint32Array(s.lengths);
    this.ids = new Uint8Array(s.ids);
    this.selStarts = new Uint32Array(s.selStarts);
    this.selLengths = new Uint32Array(s.selLengths);
    this.selIds = new Uint8Array(s.selIds);
    this.out = Buffer.from(s.bytes, s.outOffset, s.outCapacity);
    this.outLengths = new Uint32Array(s.outLengths);
  }

  /** Room for a chunk of `length` bytes? */
  fits(length: number): boolean {
    return this.count < this.maxChunks && this.used + length <= this.capacity;
  }

  /** Is `view` a part of this batch's data (a window the reader filled in place)? */
  holds(view: Uint8Array): boolean {
    return view.buffer === this.shared.bytes && view.byteOffset >= this.data.byteOffset && view.byteOffset < this.data.byteOffset + this.capacity;
  }

  /** Record a chunk that already lies in this batch's data (no copy); returns its index. */
  pushInPlace(view: Uint8Array): number {
    const i = this.count++;
    const start = view.byteOffset - this.data.byteOffset;
    this.starts[i] = start;
    this.lengths[i] = view.length;
    this.used = Math.max(this.used, start + view.length);
    return i;
  }

  /** Copy a chunk in; returns its index in the batch. */
  push(chunk: Uint8Array): number {
    const i = this.count++;
    this.data.set(chunk, this.used);
    this.starts[i] = this.used;
    this.lengths[i] = chunk.length;
    this.used += chunk.length;
    return i;
  }

  reset(): void {
    this.used = 0;
    this.count = 0;
  }
}

/** The shared memory of a batch, as posted to a worker. */
export interface BatchMemory {
  /** Holds `data` (capacity bytes at dataOffset) and `out` (outCapacity bytes at outOffset). */
  bytes: SharedArrayBuffer;
  dataOffset: number;
  capacity: number;
  outOffset: number;
  outCapacity: number;
  starts: SharedArrayBuffer;
  lengths: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  selStarts: SharedArrayBuffer;
  selLengths: SharedArrayBuffer;
  selIds: SharedArrayBuffer;
  outLengths: SharedArrayBuffer;
}
