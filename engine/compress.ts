import { CCtx, CParameter, DCtx, compressBound, getFrameContentSize } from 'zstd-napi/binding';

/**
 * zstd (RFC 8878) through zstd-napi's native contexts, reused across calls (a context per
 * compressor; creating one per blob costs more than compressing a 64 KiB chunk).
 */
export const COMPRESSION_NONE = 0;
export const COMPRESSION_ZSTD = 1;

/** Keep the compressed form only when it saves at least 1/32 (FORMAT.md §4). */
function worthIt(raw: number, packed: number): boolean {
  return packed <= raw - (raw >> 5);
}

export class Compressor {
  private readonly cctx = new CCtx();
  private scratch = Buffer.allocUnsafe(0);

  constructor(level = 1) {
    // compress2 with the level set once: ZSTD_compressCCtx re-derives parameters on every call,
    // which measured ~1.6x slower on 64 KiB chunks (bench/RESULTS.md).
    this.cctx.setParameter(CParameter.compressionLevel, level);
  }

  /** The zstd frame for `data`, or undefined when compression does not help. Valid until the next call. */
  compress(data: Uint8Array): Buffer | undefined {
    const bound = compressBound(data.length);
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
    const n = this.cctx.compress2(this.scratch, data);
    return worthIt(data.length, n) ? this.scratch.subarray(0, n) : undefined;
  }
}

export class Decompressor {
  private readonly dctx = new DCtx();

  /** Decompress a frame whose content size must equal `expectedLength` (into `scratch` when given). */
  decompress(frame: Uint8Array, expectedLength: number, scratch?: Buffer): Buffer {
    const size = getFrameContentSize(frame);
    if (size !== null && size !== expectedLength) {
      throw new Error(`zstd frame says ${size} bytes, expected ${expectedLength}`);
    }
    const out = scratch && scratch.length >= expectedLength ? scratch.subarray(0, expectedLength) : Buffer.allocUnsafe(expectedLength);
    const n = this.dctx.decompress(out, frame);
    if (n !== expectedLength) throw new Error(`zstd frame gave ${n} bytes, expected ${expectedLength}`);
    return out;
  }

  /** Decompress a frame that records its own content size (as ours do), refusing more than `maxLength`. */
  decompressFrame(frame: Uint8Array, maxLength: number): Buffer {
    const size = getFrameContentSize(frame);
    if (size === null || size > maxLength) throw new Error(`zstd frame content size ${size ?? 'unknown'} is not acceptable (at most ${maxLength})`);
    return this.decompress(frame, size);
  }
}
