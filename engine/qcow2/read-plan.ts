import { DamagedObjectError } from '../errors';
import { subclusterRuns } from './extents';
import type { Geometry } from './geometry';
import type { ClusterMap } from './mapping';

/** Guest bytes copied straight from the file: `length` bytes at `host` go to into[at]. */
export interface DataSegment {
  kind: 'data';
  at: number;
  host: number;
  length: number;
}

/** Part of a compressed cluster: inflate `hostLength` bytes at `host`, copy [from, from+length) to into[at]. */
export interface CompressedSegment {
  kind: 'compressed';
  at: number;
  host: number;
  hostLength: number;
  from: number;
  length: number;
}

export type Segment = DataSegment | CompressedSegment;

/** One reader.read() call covering one or more segments whose host ranges touch or overlap. */
export interface Fetch {
  start: number;
  end: number;
  segments: Segment[];
}

/** A single fetch never grows past this, so one huge guest read still becomes several parallel ones. */
export const MAX_FETCH_BYTES = 16 * 1024 * 1024;

/**
 * Map the guest range [offset, offset + into.length) to file segments. Holes are zero-filled in
 * `into` right away and produce no segment; data segments contiguous in both guest and host space
 * are merged, so a run of clusters laid out in order becomes one read.
 */
export async function planRead(map: ClusterMap, g: Geometry, offset: number, into: Uint8Array): Promise<Segment[]> {
  const segments: Segment[] = [];
  const end = offset + into.length;
  let last: DataSegment | undefined;
  const addData = (at: number, host: number, length: number): void => {
    if (host + length > g.fileSize) {
      throw new DamagedObjectError(g.location, `guest offset ${offset + at} maps to ${host}, past the end of the file (${g.fileSize} bytes)`);
    }
    if (last !== undefined && last.at + last.length === at && last.host + last.length === host) {
      last.length += length;
      return;
    }
    last = { kind: 'data', at, host, length };
    segments.push(last);
  };

  let pos = offset;
  while (pos < end) {
    const cluster = Math.floor(pos / g.clusterSize);
    const base = cluster * g.clusterSize;
    const from = pos - base;
    const n = Math.min(g.clusterSize - from, end - pos);
    const at = pos - offset;
    const m = await map.lookup(cluster);
    switch (m.kind) {
      case 'hole':
        into.fill(0, at, at + n);
        break;
      case 'data':
        addData(at, m.host + from, n);
        break;
      case 'compressed':
        segments.push({ kind: 'compressed', at, host: m.host, hostLength: m.length, from, length: n });
        last = undefined;
        break;
      case 'subclusters': {
        // Zero everything first, then copy the allocated runs that intersect [from, from + n).
        into.fill(0, at, at + n);
        for (const [a, b] of subclusterRuns(m.alloc, 0, g.subclusterSize)) {
          const s = Math.max(a, from);
          const e = Math.min(b, from + n);
          if (s < e) addData(at + (s - from), m.host + s, e - s);
        }
        break;
      }
    }
    pos += n;
  }
  return segments;
}

/** Group segments into as few reads as possible: sorted by host offset, touching ranges merged. */
export function groupFetches(segments: Segment[]): Fetch[] {
  const sorted = [...segments].sort((x, y) => x.host - y.host);
  const fetches: Fetch[] = [];
  let cur: Fetch | undefined;
  for (const s of sorted) {
    const sEnd = s.host + (s.kind === 'data' ? s.length : s.hostLength);
    if (cur !== undefined && s.host <= cur.end && Math.max(cur.end, sEnd) - cur.start <= MAX_FETCH_BYTES) {
      cur.end = Math.max(cur.end, sEnd);
      cur.segments.push(s);
      continue;
    }
    cur = { start: s.host, end: sEnd, segments: [s] };
    fetches.push(cur);
  }
  return fetches;
}
