import { constants as zlibConstants, createInflateRaw, inflateRawSync } from 'node:zlib';
import { DCtx, DParameter, ResetDirective } from 'zstd-napi/binding';
import { DamagedObjectError } from '../errors';
import type { CompressionType } from './features';

const ZSTD_WINDOW_LOG_MAX = 22;

/**
 * Inflates one compressed cluster into exactly cluster_size bytes, accepting what qemu accepts and
 * refusing what it refuses (block/qcow2-threads.c, qcow2_zlib_decompress and
 * qcow2_zstd_decompress). The input is the sector range the descriptor names, which may end with
 * padding or with the start of the next compressed cluster; decompression stops once a full
 * cluster has come out (spec "Compressed Clusters Descriptor").
 *
 * - deflate: qemu inflates with Z_FINISH into a one-cluster buffer and succeeds whenever that
 *   buffer is full, so a stream that would produce more is read for its first cluster, and one that
 *   produces less is refused.
 * - zstd: qemu decodes frame after frame until the cluster is full and then requires the last frame
 *   to be complete (ZSTD_decompressStream returned 0), so a frame that produces more than the
 *   cluster is refused; bytes after the last needed frame are ignored.
 */
export class ClusterDecompressor {
  private zstd: DCtx | undefined;

  constructor(
    private readonly location: string,
    private readonly type: CompressionType,
  ) {}

  /** Fill all of `out` from `src`; `host` is only used in error messages. */
  async decompress(src: Uint8Array, out: Uint8Array, host: number): Promise<void> {
    try {
      if (this.type === 'zlib') await this.inflate(src, out, host);
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

  private async inflate(src: Uint8Array, out: Uint8Array, host: number): Promise<void> {
    // Raw deflate (spec: compression type 0, qemu uses a raw stream, no zlib header). A sync flush
    // accepts a stream that is cut right after the last needed byte; the output cap keeps a hostile
    // stream from growing past one cluster.
    let produced: number;
    try {
      const got = inflateRawSync(src, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: out.length });
      out.set(got);
      produced = got.length;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
      // The stream goes on past one cluster (it is not one qemu wrote): its first cluster, as qemu reads it.
      produced = await firstBytes(src, out);
    }
    if (produced !== out.length) {
      throw new DamagedObjectError(this.location, `the compressed cluster at ${host} inflates to ${produced} bytes, not ${out.length}`);
    }
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
    let pending = 0;
    while (produced < out.length) {
      const [hint, p, c] = dctx.decompressStream(out.subarray(produced), src.subarray(consumed));
      produced += p;
      consumed += c;
      pending = hint;
      if (p === 0 && c === 0) {
        throw new DamagedObjectError(this.location, `the zstd compressed cluster at ${host} ends after ${produced} of ${out.length} bytes`);
      }
    }
    // A frame that is not finished once the cluster is full would produce more than a cluster.
    if (pending !== 0) {
      throw new DamagedObjectError(this.location, `the zstd compressed cluster at ${host} decompresses to more than one cluster (${out.length} bytes)`);
    }
  }
}

/**
 * Inflate only the first out.length bytes of a raw deflate stream (qemu's Z_FINISH into a
 * one-cluster buffer). Streaming with one output chunk of that size: the stream pauses after the
 * first chunk (back-pressure), so nothing past the cluster is inflated.
 */
async function firstBytes(src: Uint8Array, out: Uint8Array): Promise<number> {
  const inflater = createInflateRaw({ finishFlush: zlibConstants.Z_SYNC_FLUSH, chunkSize: out.length });
  inflater.end(src);
  let produced = 0;
  for await (const chunk of inflater as AsyncIterable<Buffer>) {
    const n = Math.min(chunk.length, out.length - produced);
    out.set(chunk.subarray(0, n), produced);
    produced += n;
    if (produced === out.length) break; // leaving the loop destroys the stream
  }
  return produced;
}
