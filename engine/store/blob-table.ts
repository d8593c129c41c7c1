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
   * Mark the blob as needed. Returns the entry chosen to keep (the first copy, in insertion order, in
   * a pack that `usable` accepts), 'known' when a copy was already marked, or 'missing' when no usable
   * copy exists. Linear probing keeps equal ids in insertion order along their chain.
   */
  claim(id: Uint8Array, usable: (packNumber: number) => boolean): number | 'known' | 'missing' {
    let chosen = -1;
    for (const e of this.entriesWithId(id)) {
      if (this.used[e] === 1) return 'known';
      if (chosen < 0 && usable(this.packs[e])) chosen = e;
    }
    if (chosen < 0) return 'missing';
    this.used[chosen] = 1;
    return chosen;
  }

  isUsed(e: number): boolean {
    return this.used[e] === 1;
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
