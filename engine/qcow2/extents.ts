import type { Extent } from '../source/disk-source';
import type { Geometry } from './geometry';
import { HostBudget } from './host-budget';
import type { ClusterMap } from './mapping';

/**
 * Allocated guest ranges in ascending order, adjacent ones merged, clipped to the virtual size.
 * Unallocated and zero clusters (or subclusters) are holes and are not yielded; compressed clusters
 * are allocated. Walks the L1 table in order and loads each L2 table once through the cache, so
 * memory stays constant whatever the disk size. An entry is counted against the file's size
 * (HostBudget) before the extent holding it is yielded, so a file that maps its data many times
 * over is refused before much of it is read.
 */
export async function* walkExtents(map: ClusterMap, g: Geometry): AsyncGenerator<Extent> {
  const totalClusters = Math.ceil(g.size / g.clusterSize);
  const budget = new HostBudget(g);
  let start = -1;
  let end = -1;
  for (let l1 = 0; l1 < g.l1Entries; l1++) {
    const l2 = await map.l2Table(l1);
    if (l2 === null) continue;
    const first = l1 * g.l2Entries;
    const count = Math.min(g.l2Entries, totalClusters - first);
    for (let j = 0; j < count; j++) {
      const m = map.entry(l2, j);
      if (m.kind === 'hole') continue;
      budget.add(m, first + j);
      const base = (first + j) * g.clusterSize;
      let runs: Array<[number, number]>;
      if (m.kind === 'subclusters') runs = subclusterRuns(m.alloc, base, g.subclusterSize);
      else runs = [[base, base + g.clusterSize]];
      for (const [a, bRaw] of runs) {
        const b = Math.min(bRaw, g.size);
        if (a >= b) continue;
        if (a === end) {
          end = b;
          continue;
        }
        if (start >= 0) yield { offset: start, length: end - start };
        start = a;
        end = b;
      }
    }
  }
  if (start >= 0) yield { offset: start, length: end - start };
}

/** Runs of set bits of a 32-bit subcluster bitmap as [start, end) guest byte ranges. */
export function subclusterRuns(alloc: number, base: number, subclusterSize: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let i = 0;
  while (i < 32) {
    if (((alloc >>> i) & 1) === 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 32 && ((alloc >>> j) & 1) === 1) j++;
    runs.push([base + i * subclusterSize, base + j * subclusterSize]);
    i = j;
  }
  return runs;
}
