import type { BlobEntry } from './blob';
import { BlobColumns } from './blob-columns';

/**
 * Every index entry of a store, duplicates included (the same blob stored in two packs by two
 * writers), for prune: ~58 bytes per entry (the BlobColumns layout plus a `used` mark). Unlike
 * MemoryIndex, which keeps the first location of a blob, this keeps them all, so prune can tell how
 * much of each pack is still needed.
 */
export class BlobTable extends BlobColumns {
  /** 1 when the entry is the copy of a blob that snapshots need. */
  private used = new Uint8Array(this.capacity);

  protected override growColumns(capacity: number): void {
    this.used = BlobColumns.grown(this.used, capacity);
  }

  /** Add an entry, even when the id is already known from another pack; returns its number. */
  add(packNumber: number, blob: BlobEntry): number {
    return this.append(packNumber, blob);
  }

  /**
   * Mark the blob as needed. Returns the entry chosen to keep (of the copies in packs that `usable`
   * accepts, the one in the pack with the smallest id: the choice does not depend on the order the
   * index files were read in, so the next prune makes it again), 'known' when a copy was already
   * marked, or 'missing' when no usable copy exists.
   */
  claim(id: Uint8Array, usable: (packNumber: number) => boolean): number | 'known' | 'missing' {
    let chosen = -1;
    for (const e of this.entriesWithId(id)) {
      if (this.used[e] === 1) return 'known';
      if (usable(this.packs[e]) && (chosen < 0 || this.packId(this.packs[e]) < this.packId(this.packs[chosen]))) chosen = e;
    }
    if (chosen < 0) return 'missing';
    this.used[chosen] = 1;
    return chosen;
  }

  isUsed(e: number): boolean {
    return this.used[e] === 1;
  }

  /**
   * Of the other copies of entry `e`'s blob, the one in the pack with the smallest id among those
   * `accept` takes, or -1.
   */
  bestOtherCopy(e: number, accept: (packNumber: number) => boolean): number {
    let best = -1;
    for (const c of this.entriesWithId(this.blobAt(e).id)) {
      if (c === e || !accept(this.packs[c])) continue;
      if (best < 0 || this.packId(this.packs[c]) < this.packId(this.packs[best])) best = c;
    }
    return best;
  }

  /** Move the mark of a needed blob from one of its copies to another. */
  moveUse(from: number, to: number): void {
    this.used[from] = 0;
    this.used[to] = 1;
  }

  entry(e: number): BlobEntry {
    return this.blobAt(e);
  }

  /** Entry numbers grouped by pack: `order[start[p] .. start[p + 1])` are pack p's entries, in insertion order. */
  byPack(): { order: Uint32Array; start: Uint32Array } {
    const start = new Uint32Array(this.packCount + 1);
    for (let e = 0; e < this.count; e++) start[this.packs[e] + 1]++;
    for (let p = 0; p < this.packCount; p++) start[p + 1] += start[p];
    const next = start.slice(0, this.packCount);
    const order = new Uint32Array(this.count);
    for (let e = 0; e < this.count; e++) order[next[this.packs[e]]++] = e;
    return { order, start };
  }
}
