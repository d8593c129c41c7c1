import { write, writeSync } from 'node:fs';
import { ALIGNMENT, alignedShared } from './aligned-memory';

/** Where restored chunks go: the target file, and a second descriptor of it opened with O_DIRECT when the file system allows. */
export interface RestoreTarget {
  fd: number;
  directFd?: number;
}

const aligned = (n: number) => n % ALIGNMENT === 0;
const alignDown = (n: number) => n - (n % ALIGNMENT);

/**
 * Largest run: 1 MiB (measured here with one write in flight: O_DIRECT ran ~330 MB/s in 64 KiB
 * writes, ~0.9–1 GB/s from 1 MiB up, no faster at 4 MiB; 4 MiB runs cost the S3 restore ~14 MiB
 * more peak memory for nothing).
 */
export const RUN_BYTES = 1 << 20;

/** A writer with its own two page-aligned run buffers (one writer per worker thread). */
export function newTargetWriter(): TargetWriter {
  // A run that starts mid-page sits at the same place of a page in its buffer: one page more.
  const size = RUN_BYTES + ALIGNMENT;
  const memory = alignedShared(2 * size);
  return new TargetWriter([Buffer.from(memory, 0, size), Buffer.from(memory, size, size)]);
}

/**
 * Writes restored chunks to the target file. Chunks that follow each other in the file are gathered
 * into a run, in a page-aligned buffer at the same place of a page as in the file; the run's whole
 * pages go out in one O_DIRECT write: from our memory to the disk, without a copy into the page
 * cache. Here that matters: a fresh page-cache page costs the kernel ~13 µs to obtain (bench/README.md,
 * "Measurements behind the design"), more than decompressing and verifying its data; a restore of a
 * large disk also no longer evicts the host's cache. The partial pages at a run's two ends (content-
 * defined chunks start anywhere), a chunk's copies at other offsets when they are not whole pages,
 * and everything when the file system refuses O_DIRECT, take plain positional writes. A page is only
 * ever written one way: direct writes cover whole pages inside one run, which no other write
 * touches, so the page cache never holds a stale copy of directly written bytes.
 * Two run buffers: while one is written (asynchronously, on libuv's threads), the next run is
 * gathered in the other, so the worker decompresses and verifies while the disk writes. A file
 * system that takes O_DIRECT at open but refuses a write (EINVAL) gets plain writes from then on.
 */
export class TargetWriter {
  private runStart = 0;
  private runLength = 0;
  /** Which buffer the current run is gathered in. */
  private filling = 0;
  private readonly inFlight: Array<Promise<void> | undefined> = [undefined, undefined];
  private failure: unknown;
  private target: RestoreTarget = { fd: -1 };

  /** `buffers`: two page-aligned buffers (aligned-memory.ts) of the same size, which bounds a run. */
  constructor(private readonly buffers: readonly [Buffer, Buffer]) {}

  /**
   * Write to this target from now on. A run left unflushed belongs to a request that failed (a
   * chunk did not verify): it is dropped, that restore fails and its file is removed.
   */
  use(target: RestoreTarget): void {
    this.throwIfFailed();
    this.runLength = 0;
    this.target = target;
  }

  /**
   * Where to put the plaintext of a chunk of `length` bytes whose first copy goes to `offset`: a slot
   * of the current run, or undefined when the chunk takes a plain write (then use your own scratch).
   */
  async slot(offset: number, length: number): Promise<Buffer | undefined> {
    const size = this.buffers[0].length;
    if (this.target.directFd === undefined || (offset % ALIGNMENT) + length > size) return undefined;
    if (this.runLength > 0 && (offset !== this.runStart + this.runLength || (this.runStart % ALIGNMENT) + this.runLength + length > size)) this.flush();
    if (this.runLength === 0) {
      await this.inFlight[this.filling];
      this.throwIfFailed();
      this.runStart = offset;
    }
    const at = (this.runStart % ALIGNMENT) + this.runLength;
    return this.buffers[this.filling].subarray(at, at + length);
  }

  /**
   * Write a verified chunk to each of its `offsets`. `slot` is what slot(offsets[0], ...) gave:
   * the first copy joins the run there (copied in unless `plain` already is the slot), the others
   * are written at once. Returns the bytes this accounts for.
   */
  write(plain: Buffer, offsets: readonly number[], slot: Buffer | undefined): number {
    let written = 0;
    for (const [k, offset] of offsets.entries()) {
      if (k === 0 && slot) {
        if (plain.buffer !== slot.buffer || plain.byteOffset !== slot.byteOffset) slot.set(plain);
        this.runLength += plain.length;
      } else if (slot && aligned(offset) && aligned(plain.length) && aligned(slot.byteOffset) && this.target.directFd !== undefined) {
        // Whole pages of their own at an aligned place: straight from the slot, at once.
        this.writeDirectNow(slot, offset);
      } else {
        writeFully(this.target.fd, plain, offset);
      }
      written += plain.length;
    }
    return written;
  }

  /** Start writing the run gathered so far; the next run is gathered in the other buffer. */
  flush(): void {
    if (this.runLength === 0) return;
    const i = this.filling;
    const start = this.runStart;
    const end = start + this.runLength;
    this.runLength = 0;
    this.filling = 1 - i;
    this.inFlight[i] = this.writeRun(this.buffers[i], start, end).then(
      () => {
        this.inFlight[i] = undefined;
      },
      (err: unknown) => {
        this.inFlight[i] = undefined;
        this.failure ??= err; // thrown by the next slot(), use() or drain()
      },
    );
  }

  /** Flush, and wait until everything handed to this writer is written; throws the first write error. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** A run [start, end) of the file, held in `buffer` from start % ALIGNMENT: partial pages plain, whole pages direct. */
  private async writeRun(buffer: Buffer, start: number, end: number): Promise<void> {
    const { fd } = this.target;
    const at = (x: number) => (start % ALIGNMENT) + (x - start);
    const headEnd = Math.min(end, start + ((ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT));
    const tailStart = Math.max(headEnd, alignDown(end));
    if (headEnd > start) await writeFullyAsync(fd, buffer.subarray(at(start), at(headEnd)), start);
    if (tailStart > headEnd) await this.writeDirect(buffer.subarray(at(headEnd), at(tailStart)), headEnd);
    if (end > tailStart) await writeFullyAsync(fd, buffer.subarray(at(tailStart), at(end)), tailStart);
  }

  private async writeDirect(data: Buffer, offset: number): Promise<void> {
    const { fd, directFd } = this.target;
    if (directFd !== undefined) {
      try {
        await writeFullyAsync(directFd, data, offset);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.directRefused();
      }
    }
    await writeFullyAsync(fd, data, offset);
  }

  private writeDirectNow(data: Buffer, offset: number): void {
    const { fd, directFd } = this.target;
    if (directFd !== undefined) {
      try {
        writeFully(directFd, data, offset);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.directRefused();
      }
    }
    writeFully(fd, data, offset);
  }

  /** The file system takes O_DIRECT at open but not at write: plain writes from now on. */
  private directRefused(): void {
    this.target = { fd: this.target.fd };
  }
}

function writeFully(fd: number, data: Buffer, offset: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, offset + done);
}

async function writeFullyAsync(fd: number, data: Buffer, offset: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    done += await new Promise<number>((resolve, reject) => {
      write(fd, data, done, data.length - done, offset + done, (err, n) => (err ? reject(err) : resolve(n)));
    });
  }
}
