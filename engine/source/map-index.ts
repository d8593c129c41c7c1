import { decodeMapPage, type MapExtent } from '../store/disk-map';
import { readBlob } from '../store/blob-reader';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';

/** Decoded map pages kept: a page covers up to 16384 chunks (1 GiB of 64 KiB chunks), ~2-3 MiB decoded. */
const PAGES_KEPT = 4;

/**
 * Which disk map extents (FORMAT.md §8) cover a guest range, loading the map pages it needs on demand
 * and keeping the few most recently used: a reader of a 1 TiB disk holds a few pages, never the map.
 */
export class DiskMapIndex {
  /** Page index → extents, least recently used first. */
  private readonly pages = new Map<number, Promise<MapExtent[]>>();

  constructor(private readonly repo: Repository, private readonly snapshot: Snapshot) {}

  private page(index: number): Promise<MapExtent[]> {
    const known = this.pages.get(index);
    if (known) {
      this.pages.delete(index);
      this.pages.set(index, known);
      return known;
    }
    const p = this.snapshot.map[index];
    const loading = readBlob(this.repo, Buffer.from(p.id, 'hex'))
      .then((payload) => decodeMapPage(payload, `map page ${p.id.slice(0, 12)} of snapshot ${this.snapshot.id.slice(0, 12)}`, p.offset, p.length));
    // A failed load is not kept: the next read tries again (and reports its own failure).
    loading.catch(() => this.pages.get(index) === loading && this.pages.delete(index));
    this.pages.set(index, loading);
    if (this.pages.size > PAGES_KEPT) this.pages.delete(this.pages.keys().next().value as number);
    return loading;
  }

  /** The extents overlapping [offset, end), in order (holes included: they have no id). */
  async overlapping(offset: number, end: number): Promise<MapExtent[]> {
    const out: MapExtent[] = [];
    const pages = this.snapshot.map;
    for (let pi = lastStartingAtOrBefore(pages, offset); pi < pages.length && pages[pi].offset < end; pi++) {
      const extents = await this.page(pi);
      for (let i = lastStartingAtOrBefore(extents, offset); i < extents.length && extents[i].offset < end; i++) {
        if (extents[i].offset + extents[i].length > offset) out.push(extents[i]);
      }
    }
    return out;
  }

  clear(): void {
    this.pages.clear();
  }
}

/** Index of the last item whose offset is ≤ `offset` (items sorted by offset; 0 when none is). */
function lastStartingAtOrBefore(items: ReadonlyArray<{ offset: number }>, offset: number): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (items[mid].offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
