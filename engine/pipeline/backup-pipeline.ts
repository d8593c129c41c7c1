import { ID_LENGTH } from '../crypto/chunk-id';
import { READ_AHEAD, type DiskPiece } from '../chunker/chunk-stream';
import { BLOB_DATA } from '../store/blob';
import type { BlobWriter } from '../store/blob-writer';
import type { SnapshotStats } from '../store/snapshot';
import type { DiskMapWriter } from '../store/snapshots';
import { alignedShared } from './aligned-memory';
import { Batch } from './batch';
import { isZero } from './chunk-ops';
import type { ChunkPool } from './chunk-pool';

type Item = { offset: number; hole: number } | { offset: number; index: number };

/**
 * The backup's middle. The reader fills batches (shared memory) with windows of the disk, or, for
 * content-defined chunks, pieces are copied into them; each batch is hashed by the pool (another
 * thread), looked up in order on this thread (the disk map and dedup decisions must follow disk
 * order), its new chunks sealed by the pool, and the sealed blobs appended to packs in order.
 * Several batches are in flight at once, so the pool stays busy while this thread reads and cuts.
 *
 * Queues and their bounds: one ring of READ_AHEAD + 1 + pool.size batches, each `capacity` bytes of
 * data plus as much for sealed output. A batch is free, being read into, being cut (the current
 * one), or being processed; `takeWindow` waits for a free one, which is the backpressure on the
 * reader. Memory is ring × ~2 × capacity, whatever the disk's size.
 */
export class BackupPipeline {
  private readonly free: Batch[] = [];
  private readonly waiting: Array<{ resolve: (b: Batch) => void; reject: (e: unknown) => void }> = [];
  private readonly ring: Batch[] = [];
  private current: Batch | undefined;
  private items: Item[] = [];
  private lookupChain: Promise<void>;
  private appendChain: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  /**
   * `capacity`: the read window (at least one largest chunk); `minChunk` bounds chunks per batch;
   * `ready`: settles when lookups may start (the index is loaded); batches are read and hashed meanwhile.
   */
  constructor(
    private readonly pool: ChunkPool,
    private readonly writer: BlobWriter,
    private readonly map: DiskMapWriter,
    private readonly stats: SnapshotStats,
    capacity: number,
    minChunk: number,
    private readonly ready: Promise<void> = Promise.resolve(),
  ) {
    this.lookupChain = ready;
    const maxChunks = Math.ceil(capacity / Math.max(1, minChunk)) + 1;
    // READ_AHEAD + 2 + pool.size batches, one more, cost ~2 MiB and gained no time we could measure (bench/README.md).
    const size = READ_AHEAD + 1 + Math.max(1, pool.size);
    // One page-aligned memory for the whole ring (one address-space reservation, not one per batch).
    const region = Batch.regionBytes(capacity, maxChunks);
    const bytes = alignedShared(size * region);
    for (let i = 0; i < size; i++) this.ring.push(new Batch(capacity, maxChunks, { bytes, offset: i * region }));
    this.free.push(...this.ring);
  }

  /** Share the batches' memory with the workers (once, before the first add). */
  async start(): Promise<void> {
    for (const b of this.ring) await this.pool.register(b);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  private take(): Promise<Batch> {
    this.throwIfFailed();
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(b: Batch): void {
    b.reset();
    const w = this.waiting.shift();
    if (w) w.resolve(b);
    else this.free.push(b);
  }

  /** A free batch's data, for the reader to fill with a window of the disk (zero-copy chunks). */
  takeWindow = async (): Promise<Buffer> => (await this.take()).data;

  async add(piece: DiskPiece): Promise<void> {
    this.throwIfFailed();
    if (piece.kind === 'hole') {
      this.items.push({ offset: piece.offset, hole: piece.length });
      return;
    }
    const owner = this.current?.holds(piece.data) ? this.current : this.ring.find((b) => b.holds(piece.data));
    if (owner && owner !== this.current) {
      if (this.current) this.submit();
      this.current = owner;
    }
    // Zero chunks become holes here, before any copy or hashing (memcmp runs at memory speed).
    if (isZero(piece.data)) {
      this.items.push({ offset: piece.offset, hole: piece.data.length });
      return;
    }
    if (owner) {
      this.items.push({ offset: piece.offset, index: owner.pushInPlace(piece.data) });
      return;
    }
    if (this.current && !this.current.fits(piece.data.length)) this.submit();
    this.current ??= await this.take();
    this.items.push({ offset: piece.offset, index: this.current.push(piece.data) });
  }

  /** Hand the current batch (or, at the end, only holes) to processing. */
  private submit(): void {
    const batch = this.current;
    const items = this.items;
    this.current = undefined;
    this.items = [];
    const work = this.process(batch, items).catch((err: unknown) => this.fail(err));
    const tracked: Promise<void> = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async process(batch: Batch | undefined, items: Item[]): Promise<void> {
    const hashed = batch && batch.count > 0 ? this.pool.hash(batch) : Promise.resolve();
    // Observed through `lookedUp`; this keeps a hash failure from being unhandled meanwhile.
    hashed.catch(() => undefined);
    // The batch's ids that large index tables hold are fetched while earlier batches are looked up.
    const learned = batch && batch.count > 0
      ? Promise.all([hashed, this.ready]).then(() => this.writer.learn(Array.from({ length: batch.count }, (_, i) => batch.ids.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH))))
      : hashed;
    learned.catch(() => undefined);
    const lookedUp = this.lookupChain.then(async () => {
      await learned;
      return batch ? this.lookup(batch, items) : this.lookupHoles(items);
    });
    this.lookupChain = lookedUp.then(() => undefined);
    this.lookupChain.catch(() => {
      // Observed through `lookedUp` by this batch; later batches chained on it fail the same way.
    });
    const selected = await lookedUp;
    if (batch && selected > 0) await this.pool.seal(batch, selected, BLOB_DATA);
    const appended = this.appendChain.then(async () => {
      if (!batch) return;
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
    if (batch) this.release(batch);
  }

  private async lookupHoles(items: Item[]): Promise<number> {
    for (const item of items) {
      if (!('hole' in item)) throw new Error('a chunk without a batch');
      this.stats.holeBytes += item.hole;
      const flushed = this.map.hole(item.offset, item.hole);
      if (flushed) await flushed;
    }
    return 0;
  }

  /** In disk order: holes (and zero chunks) to the map, known chunks referenced, new ones selected. */
  private async lookup(batch: Batch, items: Item[]): Promise<number> {
    const { stats, writer, map } = this;
    let selected = 0;
    for (const item of items) {
      if ('hole' in item) {
        stats.holeBytes += item.hole;
        const flushed = map.hole(item.offset, item.hole);
        if (flushed) await flushed;
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
      // The map copies the id into its page; most chunks leave nothing to wait for.
      const flushed = map.data(item.offset, len, id);
      if (flushed) await flushed;
    }
    return selected;
  }

  /** Process what is left and wait for every batch. */
  async finish(): Promise<void> {
    if (this.current || this.items.length > 0) this.submit();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** After a failure: let batches in flight settle (their errors are secondary). */
  async abort(): Promise<void> {
    this.fail(new Error('backup aborted'));
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}
