/**
 * One bit per guest cluster: the writer's whole memory of which clusters carry data (2 MiB for a
 * 1 TiB disk with 64 KiB clusters).
 */
export class ClusterBitmap {
  readonly bits: Uint8Array;

  constructor(readonly length: number) {
    this.bits = new Uint8Array(Math.ceil(length / 8));
  }

  get(i: number): boolean {
    return (this.bits[i >>> 3] & (1 << (i & 7))) !== 0;
  }

  clear(i: number): void {
    this.bits[i >>> 3] &= ~(1 << (i & 7));
  }

  /** Set bits [from, to). */
  setRange(from: number, to: number): void {
    let i = from;
    while (i < to && (i & 7) !== 0) this.bits[i >>> 3] |= 1 << (i++ & 7);
    const wholeEnd = to & ~7;
    if (i < wholeEnd) {
      this.bits.fill(0xff, i >>> 3, wholeEnd >>> 3);
      i = wholeEnd;
    }
    while (i < to) this.bits[i >>> 3] |= 1 << (i++ & 7);
  }

  /** First set bit at or after `from` and before `to`, or -1. Skips whole zero bytes. */
  nextSet(from: number, to: number = this.length): number {
    let i = from;
    while (i < to) {
      if ((i & 7) === 0 && this.bits[i >>> 3] === 0) {
        i += 8;
        continue;
      }
      if (this.get(i)) return i;
      i++;
    }
    return -1;
  }

  /** End of the run of set bits starting at `from` (exclusive), at most `limit`. */
  runEnd(from: number, limit: number): number {
    let i = from;
    while (i < limit && this.get(i)) i++;
    return i;
  }

  /**
   * For a set bit, how many set bits come before it: the rank of a data cluster, i.e. where it sits
   * among the image's data clusters (writer.ts lays them out in guest order). One pass to build
   * (4 bytes per 8 clusters), then constant time per call.
   */
  ranker(): (i: number) => number {
    const before = new Uint32Array(this.bits.length);
    let n = 0;
    for (let b = 0; b < this.bits.length; b++) {
      before[b] = n;
      n += POPCOUNT[this.bits[b]];
    }
    return (i) => before[i >>> 3] + POPCOUNT[this.bits[i >>> 3] & ((1 << (i & 7)) - 1)];
  }

  /**
   * The inverse of ranker(): the index of the set bit of rank `r` (the r-th data cluster, from 0),
   * or -1 past the last. A prefix count per 64-byte block (4 bytes per 512 clusters: 300 KiB for a
   * 10 TB disk of 64 KiB clusters), then a binary search and a scan of at most one block.
   */
  selector(): (r: number) => number {
    const blocks = Math.ceil(this.bits.length / SELECT_BLOCK);
    const before = new Uint32Array(blocks + 1);
    for (let k = 0; k < blocks; k++) {
      let n = 0;
      for (let b = k * SELECT_BLOCK; b < Math.min((k + 1) * SELECT_BLOCK, this.bits.length); b++) n += POPCOUNT[this.bits[b]];
      before[k + 1] = before[k] + n;
    }
    return (r) => {
      if (!Number.isInteger(r) || r < 0 || r >= before[blocks]) return -1;
      let lo = 0;
      let hi = blocks - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (before[mid] <= r) lo = mid;
        else hi = mid - 1;
      }
      let left = r - before[lo];
      for (let b = lo * SELECT_BLOCK; ; b++) {
        const n = POPCOUNT[this.bits[b]];
        if (left < n) {
          for (let i = b * 8; ; i++) if (this.get(i) && left-- === 0) return i;
        }
        left -= n;
      }
    };
  }

  /** Number of set bits in [from, to). */
  countRange(from: number, to: number): number {
    let n = 0;
    let i = from;
    for (; i < to && (i & 7) !== 0; i++) if (this.get(i)) n++;
    for (; i + 8 <= to; i += 8) n += POPCOUNT[this.bits[i >>> 3]];
    for (; i < to; i++) if (this.get(i)) n++;
    return n;
  }

  /** Number of set bits. */
  count(): number {
    let n = 0;
    for (const b of this.bits) n += POPCOUNT[b];
    return n;
  }
}

/** Bytes of the bitmap per prefix count of selector(). */
const SELECT_BLOCK = 64;

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v !== 0; v >>= 1) n += v & 1;
  return n;
});
