import { idToHex } from '../crypto/chunk-id';
import { DamagedObjectError } from '../errors';
import type { BlobEntry } from '../store/blob';
import { decodeMapPage, type MapExtent } from '../store/disk-map';
import { readBlob, readPackBlobs } from '../store/blob-reader';
import type { Lock } from '../store/locks';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { readDiskMap } from '../store/snapshots';
import type { DiskSource, DiskSourceInfo, Extent } from './disk-source';

/** Packs fetched at once for one read. */
const PACK_CONCURRENCY = 4;

/**
 * A stored snapshot seen as a disk: extents are its data chunks, reads fetch and verify the chunks
 * (grouped by pack, several packs at once). This is what the QCOW2 writer streams from on restore,
 * and what any consumer of a DiskSource can read.
 */
export class SnapshotSource implements DiskSource {
  readonly info: DiskSourceInfo;
  private page: { index: number; extents: MapExtent[] } | undefined;
  /** Chunks of the previous read, for a chunk that straddles two reads. */
  private recent = new Map<string, Buffer>();

  /** `lock`: the reader's lock, checked on every read (a reader whose lock lapsed stops). */
  constructor(private readonly repo: Repository, private readonly snapshot: Snapshot, private readonly options: { lock?: Lock } = {}) {
    this.info = { format: snapshot.source.format, location: `snapshot ${snapshot.id.slice(0, 12)} in ${repo.location}` };
  }

  get size(): number {
    return this.snapshot.size;
  }

  async *extents(): AsyncIterable<Extent> {
    let cur: Extent | undefined;
    for await (const page of readDiskMap(this.repo, this.snapshot)) {
      for (const e of page) {
        if (!e.id) continue;
        if (cur && cur.offset + cur.length === e.offset) cur.length += e.length;
        else {
          if (cur) yield cur;
          cur = { offset: e.offset, length: e.length };
        }
      }
    }
    if (cur) yield cur;
  }

  private async loadPage(index: number): Promise<MapExtent[]> {
    if (this.page?.index === index) return this.page.extents;
    const p = this.snapshot.map[index];
    const payload = await readBlob(this.repo, Buffer.from(p.id, 'hex'));
    const extents = decodeMapPage(payload, `map page ${p.id.slice(0, 12)} of snapshot ${this.snapshot.id.slice(0, 12)}`, p.offset, p.length);
    this.page = { index, extents };
    return extents;
  }

  /** The map extents overlapping [offset, end), in order. */
  private async overlapping(offset: number, end: number): Promise<MapExtent[]> {
    const out: MapExtent[] = [];
    const pages = this.snapshot.map;
    for (let pi = lastStartingAtOrBefore(pages, offset); pi < pages.length && pages[pi].offset < end; pi++) {
      const extents = await this.loadPage(pi);
      for (let i = lastStartingAtOrBefore(extents, offset); i < extents.length && extents[i].offset < end; i++) {
        if (extents[i].offset + extents[i].length > offset) out.push(extents[i]);
      }
    }
    return out;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.options.lock?.assertFresh();
    const end = offset + into.length;
    into.fill(0);
    const extents = (await this.overlapping(offset, end)).filter((e) => e.id);
    await this.repo.ensureIndexed(extents.map((e) => e.id as Uint8Array));
    const chunks = new Map<string, Buffer>();
    const byPack = new Map<string, BlobEntry[]>();
    for (const e of extents) {
      const hex = idToHex(e.id as Uint8Array);
      const known = this.recent.get(hex);
      if (known) {
        chunks.set(hex, known);
        continue;
      }
      const n = this.repo.index.find(e.id as Uint8Array);
      if (n < 0) throw new DamagedObjectError(this.info.location, `chunk ${hex} at guest offset ${e.offset} is not in any index`);
      const { pack, blob } = this.repo.index.entry(n);
      const list = byPack.get(pack) ?? [];
      if (!list.some((b) => idToHex(b.id) === hex)) list.push({ ...blob, id: Buffer.from(blob.id) });
      byPack.set(pack, list);
    }
    const queue = [...byPack.entries()];
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        await readPackBlobs(this.repo, job[0], job[1], (blob, data) => {
          chunks.set(idToHex(blob.id), data);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PACK_CONCURRENCY, queue.length) }, worker));
    for (const e of extents) {
      const data = chunks.get(idToHex(e.id as Uint8Array)) as Buffer;
      const from = Math.max(offset, e.offset);
      const to = Math.min(end, e.offset + e.length);
      into.set(data.subarray(from - e.offset, to - e.offset), from - offset);
    }
    this.recent = chunks;
  }

  async close(): Promise<void> {
    this.page = undefined;
    this.recent.clear();
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
