/**
 * The metadata of the QCOW2 image writer.ts plans: everything before the data clusters, built
 * cluster by cluster from the plan alone.
 */
import type { ClusterBitmap } from './bitmap';
import { L1_ENTRY_SIZE, L2_ENTRY_SIZE } from './constants';
import { encodeHeader, setU64, type Layout } from './layout';
import type { Qcow2Plan } from './writer';

/**
 * Everything of the image before its data clusters (plan.layout.dataOffset bytes): header, L1,
 * refcount table and blocks, L2 tables. With qcow2DataPlacement, a writer that puts the data
 * clusters in place itself (out of order) needs nothing else.
 */
export function* qcow2Metadata(plan: Qcow2Plan, fromCluster = 0): Generator<Uint8Array> {
  const l = plan.layout;
  const data = plan.data;
  const cs = l.clusterSize;
  // Clusters before `fromCluster` are not built, only counted through (qcow2Range starts mid-image).
  let at = 0;
  const wanted = (): boolean => at++ >= fromCluster;

  if (wanted()) yield encodeHeader(l);

  // L1 (spec "Cluster mapping", L1 table entry): L2 tables follow each other in L1 order.
  let l2Rank = 0;
  for (let c = 0; c < l.l1Clusters; c++) {
    const first = (c * cs) / L1_ENTRY_SIZE;
    const last = Math.min(first + cs / L1_ENTRY_SIZE, l.l1Size);
    if (!wanted()) {
      for (let i = first; i < last; i++) if (hasData(data, l, i)) l2Rank++;
      continue;
    }
    const out = new Uint8Array(cs);
    const dv = new DataView(out.buffer);
    for (let i = first; i < last; i++) {
      if (!hasData(data, l, i)) continue;
      // Bit 63: refcount exactly one, which qemu-img check insists on.
      setU64(dv, (i - first) * L1_ENTRY_SIZE, l.l2Offset + l2Rank++ * cs, true);
    }
    yield out;
  }

  // Refcount table (spec "Host cluster management"): block k covers clusters from k * perBlock.
  for (let c = 0; c < l.refcountTableClusters; c++) {
    if (!wanted()) continue;
    const out = new Uint8Array(cs);
    const dv = new DataView(out.buffer);
    const first = (c * cs) / 8;
    for (let k = first; k < Math.min(first + cs / 8, l.refcountBlocks); k++) {
      setU64(dv, (k - first) * 8, l.refcountBlocksOffset + k * cs);
    }
    yield out;
  }

  // Refcount blocks: 16-bit big-endian counts, 1 for every cluster of the file, 0 past its end.
  const perBlock = cs / 2;
  for (let k = 0; k < l.refcountBlocks; k++) {
    if (!wanted()) continue;
    const out = new Uint8Array(cs);
    const used = Math.min(perBlock, l.totalClusters - k * perBlock);
    for (let j = 0; j < used; j++) out[j * 2 + 1] = 1;
    yield out;
  }

  // L2 tables, then data clusters in guest order: the n-th data cluster is at dataOffset + n * cs.
  let dataRank = 0;
  for (let i = 0; i < l.l1Size; i++) {
    if (!hasData(data, l, i)) continue;
    const first = i * l.l2Entries;
    const end = Math.min(first + l.l2Entries, l.guestClusters);
    if (!wanted()) {
      dataRank += data.countRange(first, end);
      continue;
    }
    const out = new Uint8Array(cs);
    const dv = new DataView(out.buffer);
    for (let c = data.nextSet(first, end); c >= 0; c = data.nextSet(c + 1, end)) {
      setU64(dv, (c - first) * L2_ENTRY_SIZE, l.dataOffset + dataRank++ * cs, true);
    }
    yield out;
  }
}

function hasData(data: ClusterBitmap, l: Layout, l1Index: number): boolean {
  const first = l1Index * l.l2Entries;
  return data.nextSet(first, Math.min(first + l.l2Entries, l.guestClusters)) >= 0;
}
