import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { DCtx, DParameter, ResetDirective } from 'zstd-napi/binding';
import { DamagedObjectError } from '../errors';
import type { CompressionType } from './features';

const ZSTD_WINDOW_LOG_MAX = 22;

/**
 * Inflates one compressed cluster into exactly cluster_size bytes, the way qemu does: the input is
 * the sector range the descriptor names, which may end with padding or with the start of the next
 * compressed cluster, and decompression stops once a full cluster has come out
 * (spec "Compressed Clusters Descriptor": "decompression stops when it has produced a cluster").
 */
export class ClusterDecompressor {
  private zstd: DCtx | undefined;

  constructor(
    private readonly location: string,
    private readonly type: CompressionType,
  ) {}

  /** Fill all of `out` from `src`; `host` is only used in error messages. */
  decompress(src: Uint8Array, out: Uint8Array, host: number): void {
    try {
      if (this.type === 'zlib') this.inflate(src, out, host);
      else this.unzstd(src, out, host);
    } catch (err) {
      if (err instanceof DamagedObjectError) throw err;
      throw new DamagedObjectError(
        this.location,
        `the ${this.type} compressed cluster at ${host} does not decompress (${(err as Error).message})`,
        { cause: err },
      );
    }
  }

  private inflate(src: Uint8Array, out: Uint8Array, host: number): void {
    // Raw deflate (spec: compression type 0, qemu uses a raw stream, no zlib header). A sync flush
    // accepts a stream that is cut right after the last needed byte; the output cap keeps a hostile
    // stream from growing past one cluster.
    const got = inflateRawSync(src, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: out.length });
    if (got.length !== out.length) {
      throw new DamagedObjectError(this.location, `the compressed cluster at ${host} inflates to ${got.length} bytes, not ${out.length}`);
    }
    out.set(got);
  }

  private unzstd(src: Uint8Array, out: Uint8Array, host: number): void {
    // One or more zstd frames; streaming decompression straight into the output, as qemu does.
    let dctx = this.zstd;
    if (dctx === undefined) {
      dctx = this.zstd = new DCtx();
      // A cluster is at most 2 MiB, so no honest frame needs a larger window than 4 MiB; the cap
      // keeps a hostile frame header from making zstd allocate up to its default 128 MiB.
      dctx.setParameter(DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
    }
    dctx.reset(ResetDirective.sessionOnly);
    let produced = 0;
    let consumed = 0;
    while (produced < out.length) {
      const [, p, c] = dctx.decompressStream(out.subarray(produced), src.subarray(consumed));
      produced += p;
      consumed += c;
      if (p === 0 && c === 0) {
        throw new DamagedObjectError(this.location, `the zstd compressed cluster at ${host} ends after ${produced} of ${out.length} bytes`);
      }
    }
  }
}
