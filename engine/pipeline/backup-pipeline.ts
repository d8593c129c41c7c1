import { ID_LENGTH } from '../crypto/chunk-id';
import type { DiskPiece } from '../chunker/chunk-stream';
import { BLOB_DATA } from '../store/blob';
import type { BlobWriter } from '../store/blob-writer';
import type { SnapshotStats } from '../store/snapshot';
import type { DiskMapWriter } from '../store/snapshots';
import { Batch } from './batch';
import { isZero } from './chunk-ops';
import type { WorkerPool } from './worker-pool';

/** Chunk data per batch; a batch also holds at least one largest chunk. */
const BATCH_BYTES = 2 << 20;

type Item = { offset: number; hole: number } | { offset: number; index: number };

/**
 * The backup's middle: pieces from the chunker are copied into shared batches; each batch is hashed
 * on a worker, looked up in order on this thread (the disk map and dedup decisions must follow disk
 * order), its new chunks sealed on a worker, and the sealed blobs appended to packs in order.
 * Several batches are in flight at once, so the workers stay busy while this thread reads and cuts.
 * Queues and their bounds: `ring` batches (2 per worker + 2) — memory is ring × ~2 × BATCH_BYTES.
 */
export class BackupPipeline {
  private readonly free: Batch[] = [];
  private current: Batch;
  private items: Item[] = [];
  private lookupChain: Promise<void> = Promise.resolve();
  private appendChain: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly ring: Batch[];

  constructor(
    private readonly pool: WorkerPool,
    private readonly writer: BlobWriter,
    private readonly map: DiskMapWriter,
    private readonly stats: SnapshotStats,
    maxChunk: number,
    minChunk: number,
  ) {
    const capacity = Math.max(BATCH_BYTES, maxChunk);
    const maxChunks = Math.ceil(capacity / Math.max(1, minChunk)) + 1;
    const ring = 2 * Math.max(1, pool.size) + 2;
    for (let i = 0; i < ring; i++) this.free.push(new Batch(capacity, maxChunks));
    this.current = this.free.pop() as Batch;
    this.ring = [this.current, ...this.free];
  }

  /** Share the batches' memory with the workers (once, before the first add). */
  async start(): Promise<void> {
    for (const b of this.ring) await this.pool.register(b);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  async add(piece: DiskPiece): Promise<void> {
    this.throwIfFailed();
    if (piece.kind === 'hole') {
      this.items.push({ offset: piece.offset, hole: piece.length });
      return;
    }
    // Zero chunks become holes here, before any copy or hashing (memcmp runs at memory speed).
    if (isZero(piece.data)) {
      this.items.push({ offset: piece.offset, hole: piece.data.length });
      return;
    }
    if (!this.current.fits(piece.data.length)) await this.submit();
    this.items.push({ offset: piece.offset, index: this.current.push(piece.data) });
  }

  private async submit(): Promise<void> {
    const batch = this.current;
    const items = this.items;
    this.items = [];
    const work = this.process(batch, items).catch((err: unknown) => {
      this.failure ??= err;
    });
    const tracked: Promise<void> = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    while (this.free.length === 0) await Promise.race(this.inFlight);
    this.throwIfFailed();
    this.current = this.free.pop() as Batch;
  }

  private async process(batch: Batch, items: Item[]): Promise<void> {
    const hashed = batch.count > 0 ? this.pool.hash(batch) : Promise.resolve();
    const lookedUp = this.lookupChain.then(async () => {
      await hashed;
      return this.lookup(batch, items);
    });
    this.lookupChain = lookedUp.then(() => undefined);
    this.lookupChain.catch(() => {
      // Observed through `lookedUp` by this batch; later batches chained on it fail the same way.
    });
    const selected = await lookedUp;
    if (selected > 0) await this.pool.seal(batch, selected, BLOB_DATA);
    const appended = this.appendChain.then(async () => {
      let o = 0;
      for (let j = 0; j < selected; j++) {
        const len = batch.outLengths[j];
        await this.writer.addSealed(BLOB_DATA, batch.selIds.subarray(j * ID_LENGTH, (j + 1) * ID_LENGTH), batch.out.subarray(o, o + len), batch.selLengths[j]);
        o += len;
      }
    });
    this.appendChain = appended;
    this.appendChain.catch(() => {
      // Observed through `appended` below.
    });
    await appended;
    batch.reset();
    this.free.push(batch);
  }

  /** In disk order: holes (and zero chunks) to the map, known chunks referenced, new ones selected. */
  private async lookup(batch: Batch, items: Item[]): Promise<number> {
    const { stats, writer, map } = this;
    let selected = 0;
    for (const item of items) {
      if ('hole' in item) {
        stats.holeBytes += item.hole;
        await map.hole(item.offset, item.hole);
        continue;
      }
      const i = item.index;
      const len = batch.lengths[i];
      const id = batch.ids.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH);
      stats.chunks++;
      if (!writer.has(id)) {
        writer.reserve(id);
        batch.selStarts[selected] = batch.starts[i];
        batch.selLengths[selected] = len;
        batch.selIds.set(id, selected * ID_LENGTH);
        selected++;
        stats.newChunks++;
        stats.bytesNew += len;
      }
      await map.data(item.offset, len, id);
    }
    return selected;
  }

  /** Process what is left and wait for every batch. */
  async finish(): Promise<void> {
    if (this.items.length > 0) await this.submit();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** After a failure: let batches in flight settle (their errors are secondary). */
  async abort(): Promise<void> {
    await Promise.all(this.inFlight);
  }
}
