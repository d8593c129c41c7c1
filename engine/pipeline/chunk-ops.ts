import { COMPRESSION_NONE, COMPRESSION_ZSTD, type Compressor } from '../compress';
import { ID_LENGTH } from '../crypto/chunk-id';
import { MAX_SEAL_OVERHEAD, blobAad, type Sealer } from '../crypto/seal';
import type { BlobType } from '../store/blob';
import { openBlob, type BlobOpener } from '../store/blob-reader';
import { newTargetWriter, type RestoreTarget, type TargetWriter } from './target-writer';

/**
 * The CPU-heavy work on chunks, written once and run either in worker threads or inline. Chunks are
 * ranges of a batch buffer (`starts`/`lengths`); results go into caller-provided arrays so the hot
 * path allocates nothing per chunk beyond what node:crypto itself does.
 */
const ZEROS = Buffer.alloc(1 << 20);

export function isZero(data: Uint8Array): boolean {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let p = 0; p < data.length; p += ZEROS.length) {
    const n = Math.min(ZEROS.length, data.length - p);
    if (buf.compare(ZEROS, 0, n, p, p + n) !== 0) return false;
  }
  return true;
}

const NONE = Uint8Array.of(COMPRESSION_NONE);
const ZSTD = Uint8Array.of(COMPRESSION_ZSTD);

/** Upper bound of a sealed blob's size for a chunk of `length` bytes, in any format version (FORMAT.md §4). */
export function sealedBound(length: number): number {
  return MAX_SEAL_OVERHEAD + 1 + length;
}

/**
 * Compress (when it helps) and seal each selected chunk as a blob of `type`, writing the sealed
 * blobs one after the other into `out` and their sizes into `outLengths`. Returns bytes written.
 */
export function sealRanges(
  sealer: Sealer, compressor: Compressor, type: number, data: Buffer,
  starts: Uint32Array, lengths: Uint32Array, ids: Uint8Array, count: number,
  out: Buffer, outLengths: Uint32Array,
): number {
  let o = 0;
  for (let i = 0; i < count; i++) {
    const chunk = data.subarray(starts[i], starts[i] + lengths[i]);
    const packed = compressor.compress(chunk);
    const cipher = sealer.cipher(out.subarray(o, o + sealer.nonceLength));
    cipher.setAAD(blobAad(type, ids.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH)));
    let p = o + sealer.nonceLength;
    p += cipher.update(packed ? ZSTD : NONE).copy(out, p);
    p += cipher.update(packed ?? chunk).copy(out, p);
    p += cipher.final().copy(out, p);
    p += cipher.getAuthTag().copy(out, p);
    outLengths[i] = p - o;
    o = p;
  }
  return o;
}

/** A blob to restore from a fetched pack range: where it is in the range, and where it goes. */
export interface RestoreBlob {
  type: number;
  id: Uint8Array;
  /** Offset in the pack (for messages) and in the fetched range. */
  packOffset: number;
  start: number;
  length: number;
  rawLength: number;
  /** Guest offsets this chunk is written to. */
  targets: number[];
}

/**
 * One thread's restoring (a worker's, or the inline pool's): its TargetWriter and a scratch buffer
 * for the plaintexts that take plain writes, both reused for every request. Requests run one after
 * the other, in order: a request waits on the disk part-way (a run buffer's slot), and another that
 * ran meanwhile would write its chunks into the same run and scratch buffers.
 */
export class ChunkRestorer {
  private readonly writer: TargetWriter = newTargetWriter();
  private scratch = Buffer.allocUnsafe(0);
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opener: BlobOpener) {}

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {
      // The caller of this request gets its error; the next request still runs.
    });
    return run;
  }

  /**
   * Open, verify and write restored chunks to the target (positional writes, so several threads
   * write one file out of order; whole-block runs through the writer's direct writes, which may
   * still be in flight when this returns: `drain()` waits for them). Plaintexts go straight into the
   * writer's run, or through the scratch buffer: nothing is allocated per chunk. Returns the bytes written.
   */
  restore(packId: string, target: RestoreTarget, data: Uint8Array, blobs: readonly RestoreBlob[]): Promise<number> {
    return this.inTurn(() => this.restoreNow(packId, target, data, blobs));
  }

  private async restoreNow(packId: string, target: RestoreTarget, data: Uint8Array, blobs: readonly RestoreBlob[]): Promise<number> {
    const need = Math.max(0, ...blobs.map((b) => b.rawLength));
    if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(need);
    const writer = this.writer;
    writer.use(target);
    let written = 0;
    for (const b of blobs) {
      const entry = { type: b.type as BlobType, id: b.id, offset: b.packOffset, length: b.length, rawLength: b.rawLength };
      const slot = b.targets.length > 0 ? await writer.slot(b.targets[0], b.rawLength) : undefined;
      const plain = openBlob(this.opener, packId, entry, data.subarray(b.start, b.start + b.length), slot ?? this.scratch);
      written += writer.write(plain, b.targets, slot);
    }
    writer.flush();
    return written;
  }

  /** Wait until every chunk handed over is written; throws the first write error. */
  drain(): Promise<void> {
    return this.inTurn(() => this.writer.drain());
  }
}
