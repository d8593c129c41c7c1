import type { ChunkerParams } from '../store/config';
import type { DiskSource, Extent } from '../source/disk-source';
import { InvalidInputError } from '../errors';
import { FastCdc } from './fastcdc';

/** A piece of the guest disk in order: a chunk's bytes, or a range never read (unallocated). */
export type DiskPiece =
  | { kind: 'data'; offset: number; data: Uint8Array }
  | { kind: 'hole'; offset: number; length: number };

/**
 * Read size for a local source (a file, a block device). Each window is a batch of the pipeline's
 * ring (about twice the window in memory, sealed output included): on the bench disk 4 MiB windows
 * peaked ~40 MiB higher for ~5% less time, 2 MiB ~16 MiB higher for the same (docs/ARCHITECTURE.md).
 */
export const DEFAULT_WINDOW = 1024 * 1024;
/** Read size for a source in a bucket (ranged GETs): fewer, larger requests, more bytes in flight. */
export const REMOTE_WINDOW = 4 * 1024 * 1024;
/** Windows being read ahead of the one being cut. */
export const READ_AHEAD = 3;

/** The read window for these chunker parameters: at least one largest chunk, whole fixed chunks. */
export function windowSize(params: ChunkerParams, window = DEFAULT_WINDOW): number {
  const maxChunk = params.kind === 'fixed' ? params.size : params.max;
  const w = Math.max(window, maxChunk);
  return params.kind === 'fixed' ? w - (w % params.size) : w;
}

/**
 * The ranges to read: the source's allocated extents, clipped to the disk, merged, and for fixed
 * chunking widened to chunk boundaries (a chunk is read whole even if only partly allocated; the
 * source returns zeros for the rest).
 */
export async function* readRegions(source: DiskSource, params: ChunkerParams): AsyncGenerator<Extent> {
  const align = params.kind === 'fixed' ? params.size : 1;
  let cur: Extent | undefined;
  let last = 0;
  for await (const e of source.extents()) {
    if (e.offset < last || e.length < 0) throw new InvalidInputError(source.info.location, `extents out of order at ${e.offset}`);
    last = e.offset + e.length;
    const start = Math.floor(e.offset / align) * align;
    const end = Math.min(source.size, Math.ceil((e.offset + e.length) / align) * align);
    if (end <= start) continue;
    if (cur && start <= cur.offset + cur.length) cur.length = Math.max(cur.length, end - cur.offset);
    else {
      if (cur) yield cur;
      cur = { offset: start, length: end - start };
    }
  }
  if (cur) yield cur;
}

const ZERO_BLOCK = 4096;
const ZERO = Buffer.alloc(ZERO_BLOCK);

/**
 * Split a window at runs of zero 4 KiB blocks (aligned to guest offsets) of at least `minRun` bytes:
 * yields {start, zero} meaning "data up to `start`, then `zero` zero bytes". The last segment has
 * start = data.length and zero = 0.
 */
function* segments(data: Buffer, at: number, minRun: number): Generator<{ start: number; zero: number }> {
  let runStart = -1;
  let p = (ZERO_BLOCK - (at % ZERO_BLOCK)) % ZERO_BLOCK;
  for (; p + ZERO_BLOCK <= data.length; p += ZERO_BLOCK) {
    const zero = data.compare(ZERO, 0, ZERO_BLOCK, p, p + ZERO_BLOCK) === 0;
    if (zero && runStart < 0) runStart = p;
    else if (!zero && runStart >= 0) {
      if (p - runStart >= minRun) yield { start: runStart, zero: p - runStart };
      runStart = -1;
    }
  }
  if (runStart >= 0 && p - runStart >= minRun && p === data.length) yield { start: runStart, zero: p - runStart };
  yield { start: data.length, zero: 0 };
}

/**
 * Cut the disk into chunks and holes, in guest order. Each `data` piece is a view into a buffer that
 * is reused: valid until the next piece is requested. Up to READ_AHEAD windows are being read while
 * the current one is processed, so reading (a libuv thread per read, or S3 requests) overlaps
 * hashing, compression and encryption. With fixed-size chunks and `takeWindow`, each window is read
 * straight into a buffer that function hands out (the pipeline's shared batches: no copy between
 * the read and the workers); otherwise windows go to this generator's own buffers.
 */
export async function* cutDisk(
  source: DiskSource,
  params: ChunkerParams,
  counters: { bytesRead: number },
  window = DEFAULT_WINDOW,
  takeWindow?: () => Promise<Buffer>,
): AsyncGenerator<DiskPiece> {
  const maxChunk = params.kind === 'fixed' ? params.size : params.max;
  const win = windowSize(params, window);
  const cdc = params.kind === 'fastcdc' ? new FastCdc(params.min, params.avg, params.max) : undefined;
  const inPlace = cdc ? undefined : takeWindow;
  const buffers = inPlace ? [] : Array.from({ length: READ_AHEAD + 1 }, () => Buffer.allocUnsafe(win));
  const assembly = cdc ? Buffer.allocUnsafe(maxChunk) : Buffer.alloc(0);
  const zeroRun = params.kind === 'fastcdc' ? Math.max(ZERO_BLOCK, Math.ceil(params.min / ZERO_BLOCK) * ZERO_BLOCK) : 0;
  let pos = 0;
  let which = 0;
  // An own buffer is reused only after READ_AHEAD more windows were issued, by which time the
  // consumer has moved past every piece of it. A taken window is the pipeline's until it is done.
  const nextBuffer = inPlace ?? (async () => buffers[which++ % buffers.length]);
  for await (const region of readRegions(source, params)) {
    if (region.offset > pos) yield { kind: 'hole', offset: pos, length: region.offset - pos };
    const end = region.offset + region.length;
    const pending: Array<Promise<Buffer>> = [];
    let issuedTo = region.offset;
    const issue = () => {
      while (pending.length < READ_AHEAD && issuedTo < end) {
        const at = issuedTo;
        const length = Math.min(win, end - at);
        const read = nextBuffer().then(async (buffer) => {
          const view = buffer.subarray(0, length);
          await source.read(at, view);
          return view;
        });
        // Observed when awaited below; this keeps a read abandoned by a failing backup from
        // becoming an unhandled rejection.
        read.catch(() => undefined);
        pending.push(read);
        issuedTo += length;
      }
    };
    issue();
    cdc?.reset();
    let carried = 0;
    for (let at = region.offset; at < end; ) {
      const data = await (pending.shift() as Promise<Buffer>);
      issue();
      counters.bytesRead += data.length;
      const after = at + data.length;
      if (!cdc) {
        for (let p = 0; p < data.length; p += maxChunk) {
          yield { kind: 'data', offset: at + p, data: data.subarray(p, Math.min(data.length, p + maxChunk)) };
        }
      } else {
        // Zero runs of at least `min` bytes end the current chunk and become holes: the gear hash of
        // a zero run never changes, so CDC alone would glue zeros to data and lose sparseness.
        let p = 0;
        for (const seg of segments(data, at, zeroRun)) {
          while (p < seg.start) {
            const cut = cdc.next(data, p, seg.start);
            const stop = cut < 0 ? seg.start : cut;
            const forced = cut < 0 && (seg.zero > 0 || after === end);
            if (carried > 0 || (cut < 0 && !forced)) {
              // The chunk spans windows: gather it (at most `max` bytes) in the assembly buffer.
              data.copy(assembly, carried, p, stop);
              carried += stop - p;
              if (cut >= 0 || forced) {
                yield { kind: 'data', offset: at + stop - carried, data: assembly.subarray(0, carried) };
                carried = 0;
              }
            } else {
              yield { kind: 'data', offset: at + p, data: data.subarray(p, stop) };
            }
            p = stop;
          }
          if (seg.zero > 0) {
            if (carried > 0) {
              yield { kind: 'data', offset: at + p - carried, data: assembly.subarray(0, carried) };
              carried = 0;
            }
            yield { kind: 'hole', offset: at + p, length: seg.zero };
            p += seg.zero;
            cdc.reset();
          }
        }
      }
      at = after;
    }
    pos = end;
  }
  if (pos < source.size) yield { kind: 'hole', offset: pos, length: source.size - pos };
}
