/**
 * Any byte range of the QCOW2 image a plan describes (writer.ts), on its own: the layout is fixed
 * by the plan, so bytes [start, end) are built without the bytes before them. qcow2Stream is the
 * range of the whole image; a multipart upload streams each part as a range, and builds a part
 * again when it must send it again (engine/store/backends/s3-ranged-upload.ts).
 */
import { InvalidInputError } from '../errors';
import type { DiskSource } from '../source/disk-source';
import { qcow2Metadata } from './metadata';
import type { Qcow2Plan } from './writer';

/** Data goes out in pieces of at most this much (one source.read() each). */
export const MAX_DATA_PIECE = 4 * 1024 * 1024;

/** One selector per plan: building it reads the whole bitmap, a part of a 1 TB image must not. */
const selectors = new WeakMap<Qcow2Plan, (rank: number) => number>();

/**
 * Bytes [start, end) of the image, in pieces of at most MAX_DATA_PIECE (metadata in clusters).
 * Every yielded buffer is fresh and owned by the consumer; their lengths add up to end - start.
 */
export async function* qcow2Range(source: DiskSource, plan: Qcow2Plan, start: number, end: number): AsyncGenerator<Uint8Array> {
  if (plan.sourceSize !== source.size) {
    throw new InvalidInputError('plan', `was made for a ${plan.sourceSize}-byte disk, not ${source.size} bytes`);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > plan.length) {
    throw new InvalidInputError('range', `${start}-${end} is not within the ${plan.length}-byte QCOW2 image`);
  }
  const l = plan.layout;
  const cs = l.clusterSize;
  if (start < l.dataOffset) {
    // Metadata: every piece is one cluster; the header is cluster 0.
    let at = Math.floor(start / cs) * cs;
    for (const cluster of qcow2Metadata(plan, at / cs)) {
      if (at >= end) return;
      yield cluster.subarray(Math.max(0, start - at), Math.min(cs, end - at));
      at += cs;
    }
  }
  if (end > l.dataOffset) yield* dataRange(source, plan, Math.max(start, l.dataOffset), end);
}

/** Data clusters between file offsets `from` and `to` (both past the metadata), read in runs. */
async function* dataRange(source: DiskSource, plan: Qcow2Plan, from: number, to: number): AsyncGenerator<Uint8Array> {
  const { clusterSize: cs, dataOffset, guestClusters } = plan.layout;
  const data = plan.data;
  let select = selectors.get(plan);
  if (!select) {
    select = data.selector();
    selectors.set(plan, select);
  }
  const maxClusters = Math.max(1, Math.floor(MAX_DATA_PIECE / cs));
  // The n-th data cluster is at dataOffset + n × cs (guest order): find the first one we need.
  const firstRank = Math.floor((from - dataOffset) / cs);
  let skip = (from - dataOffset) % cs;
  let left = to - from;
  for (let c = select(firstRank); c >= 0 && left > 0; c = data.nextSet(c)) {
    const runEnd = data.runEnd(c, Math.min(c + maxClusters, guestClusters));
    const out = new Uint8Array((runEnd - c) * cs);
    const readTo = Math.min(runEnd * cs, source.size);
    // The tail past the source size (last cluster, sector rounding) stays zero.
    if (readTo > c * cs) await source.read(c * cs, out.subarray(0, readTo - c * cs));
    const piece = out.subarray(skip, Math.min(out.length, skip + left));
    skip = 0;
    left -= piece.length;
    yield piece;
    c = runEnd;
  }
  if (left > 0) throw new Error(`QCOW2 plan inconsistency: ${left} bytes of data clusters missing at the end of the image`);
}
