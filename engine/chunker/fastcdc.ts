import { createHash } from 'node:crypto';

/**
 * FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking Approach for Data
 * Deduplication", USENIX ATC 2016): gear rolling hash, cut-point skipping below `min`, normalised
 * chunking level 2 (a harder mask before `avg`, an easier one after). Streaming: bytes arrive in
 * windows and the state carries across them, so a chunk may span windows.
 */
function gearTable(): Uint32Array {
  // FORMAT.md §5: entry i = first 4 bytes (big-endian) of SHA-256("scw-backup gear v1" || u32be i).
  const table = new Uint32Array(256);
  const prefix = Buffer.from('scw-backup gear v1');
  const n = Buffer.allocUnsafe(4);
  for (let i = 0; i < 256; i++) {
    n.writeUInt32BE(i, 0);
    table[i] = createHash('sha256').update(prefix).update(n).digest().readUInt32BE(0);
  }
  return table;
}

const GEAR = gearTable();

/** A mask of `bits` ones in the high end of 32 bits: bit k of the gear hash depends on the last k+1 bytes. */
function highMask(bits: number): number {
  return bits <= 0 ? 0 : ((0xffffffff << (32 - bits)) >>> 0);
}

export class FastCdc {
  private readonly maskS: number;
  private readonly maskL: number;
  /** Bytes of the current chunk seen so far. */
  private n = 0;
  private fp = 0;

  constructor(readonly min: number, readonly avg: number, readonly max: number) {
    const bits = Math.round(Math.log2(avg));
    this.maskS = highMask(bits + 2);
    this.maskL = highMask(bits - 2);
  }

  /** Start a new stream (an allocated region begins): the next byte starts a chunk. */
  reset(): void {
    this.n = 0;
    this.fp = 0;
  }

  /**
   * Scan data[start, end) and return the index just after the next cut point, or -1 when no cut
   * falls inside (the chunk continues into the next window).
   */
  next(data: Uint8Array, start: number, end: number): number {
    let n = this.n;
    let fp = this.fp;
    let i = start;
    const { min, avg, max, maskS, maskL } = this;
    // Cut-point skipping: nothing before `min` can be a boundary, so don't hash it.
    if (n < min) {
      const skip = Math.min(min - n, end - i);
      i += skip;
      n += skip;
    }
    while (i < end) {
      fp = ((fp << 1) + GEAR[data[i]]) >>> 0;
      i++;
      n++;
      if ((n < avg ? fp & maskS : fp & maskL) === 0 || n >= max) {
        this.n = 0;
        this.fp = 0;
        return i;
      }
    }
    this.n = n;
    this.fp = fp;
    return -1;
  }
}
