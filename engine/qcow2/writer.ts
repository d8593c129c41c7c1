import { InvalidInputError } from '../errors';
import type { DiskSource } from '../source/disk-source';
import { ClusterBitmap } from './bitmap';
import { checkClusterSize, checkL1Size, computeLayout, type Layout } from './layout';
import { qcow2Range } from './range';
export { qcow2Metadata } from './metadata';

export interface Qcow2WriteOptions {
  /** Cluster size of the image written (default 64 KiB, qemu's default). */
  clusterSize?: number;
  /**
   * Read the allocated extents while planning and leave clusters that turn out all zero
   * unallocated (default true). With false only source.extents() decides, no data is read while
   * planning, and the length is known from the extents alone.
   */
  skipZeroClusters?: boolean;
}

/** The decided layout of the image to be written; pass it to qcow2Stream() to reuse it. */
export interface Qcow2Plan {
  /** Exact length of the stream in bytes. */
  readonly length: number;
  readonly clusterSize: number;
  /** Virtual size in the header: the source size rounded up to 512 bytes. */
  readonly virtualSize: number;
  readonly sourceSize: number;
  readonly dataClusters: number;
  readonly l2Tables: number;
  /** @internal */
  readonly layout: Layout;
  /** @internal */
  readonly data: ClusterBitmap;
}

const DEFAULT_CLUSTER_SIZE = 64 * 1024;
/** qemu counts the virtual size in 512-byte sectors and drops a partial one (block layer). */
const SECTOR = 512;
/** Planning reads the source in pieces of at most this much. */
const MAX_DATA_PIECE = 4 * 1024 * 1024;

/**
 * Decide which guest clusters carry data: every cluster that an extent touches, minus (by
 * default) those whose bytes are all zero. Memory is one bit per guest cluster.
 */
export async function planQcow2(source: DiskSource, options: Qcow2WriteOptions = {}): Promise<Qcow2Plan> {
  const clusterSize = options.clusterSize ?? DEFAULT_CLUSTER_SIZE;
  checkClusterSize(clusterSize);
  const where = source.info.location;
  if (!Number.isSafeInteger(source.size) || source.size < 0) {
    throw new InvalidInputError(where, `disk size ${source.size} is not a byte count`);
  }
  const virtualSize = Math.ceil(source.size / SECTOR) * SECTOR;
  // Before the bitmap: a disk too large for the format is refused, not allocated for.
  checkL1Size(virtualSize, clusterSize, where);
  const data = new ClusterBitmap(Math.ceil(virtualSize / clusterSize));

  let lastEnd = 0;
  for await (const e of source.extents()) {
    if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < lastEnd || e.length < 0 || e.offset + e.length > source.size) {
      throw new InvalidInputError(where, `extent ${e.offset}+${e.length} is out of order or outside the ${source.size}-byte disk`);
    }
    lastEnd = e.offset + e.length;
    if (e.length === 0) continue;
    data.setRange(Math.floor(e.offset / clusterSize), Math.ceil(lastEnd / clusterSize));
  }
  if (options.skipZeroClusters ?? true) await clearZeroClusters(source, data, clusterSize);

  const layout = computeLayout(virtualSize, clusterSize, data, where);
  return {
    length: layout.length,
    clusterSize,
    virtualSize,
    sourceSize: source.size,
    dataClusters: layout.dataClusters,
    l2Tables: layout.l2Tables,
    layout,
    data,
  };
}

/** The exact byte length of qcow2Stream(source, options) (it plans; reuse the plan if you stream too). */
export async function qcow2StreamLength(source: DiskSource, options: Qcow2WriteOptions = {}): Promise<number> {
  return (await planQcow2(source, options)).length;
}

/**
 * A QCOW2 v3 image of `source` as a forward-only byte stream (spec "Header", "Host cluster
 * management", "Cluster mapping"): header, L1, refcount table and blocks, L2 tables, then only the
 * data clusters. Holes stay unallocated. Every yielded buffer is fresh and owned by the consumer.
 */
export async function* qcow2Stream(
  source: DiskSource,
  options: Qcow2WriteOptions & { plan?: Qcow2Plan } = {},
): AsyncGenerator<Uint8Array> {
  const plan = options.plan ?? (await planQcow2(source, options));
  yield* qcow2Range(source, plan, 0, plan.length);
}

/**
 * Where guest byte `offset` lies in the image file: data clusters follow the metadata in guest order
 * (the n-th data cluster at dataOffset + n × clusterSize). Only for bytes of data clusters; the bytes
 * of a guest range that is all data clusters stay contiguous in the file.
 */
export function qcow2DataPlacement(plan: Qcow2Plan): (offset: number) => number {
  const { dataOffset, clusterSize } = plan.layout;
  const rank = plan.data.ranker();
  return (offset) => {
    const cluster = Math.floor(offset / clusterSize);
    if (!plan.data.get(cluster)) throw new Error(`guest byte ${offset} is not in a data cluster of the QCOW2 plan`);
    return dataOffset + rank(cluster) * clusterSize + (offset % clusterSize);
  };
}


/** Drop clusters whose guest bytes are all zero, reading the marked runs in big pieces. */
async function clearZeroClusters(source: DiskSource, data: ClusterBitmap, cs: number): Promise<void> {
  const maxClusters = Math.max(1, Math.floor(MAX_DATA_PIECE / cs));
  const buf = Buffer.alloc(maxClusters * cs);
  const zero = Buffer.alloc(cs);
  for (let c = data.nextSet(0); c >= 0; c = data.nextSet(c)) {
    const end = data.runEnd(c, Math.min(c + maxClusters, data.length));
    const from = c * cs;
    const to = Math.min(end * cs, source.size);
    if (to <= from) {
      for (let k = c; k < end; k++) data.clear(k);
      c = end;
      continue;
    }
    await source.read(from, buf.subarray(0, to - from));
    for (let k = c; k < end; k++) {
      const a = (k - c) * cs;
      const b = Math.min(a + cs, to - from);
      if (buf.subarray(a, b).equals(zero.subarray(0, b - a))) data.clear(k);
    }
    c = end;
  }
}
