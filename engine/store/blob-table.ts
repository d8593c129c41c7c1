import { ID_LENGTH } from '../crypto/chunk-id';
import type { BlobEntry, BlobType } from './blob';

/**
 * Every index entry of a store, duplicates included (the same blob stored in two packs by two
 * writers), for prune: ~58 bytes per entry in typed arrays (id, pack number, offset, lengths, type,
 * a `used` mark, and an open-addressing hash table of Int32 slots kept at most half full). Unlike
 * MemoryIndex, which keeps the first location of a blob, this keeps them all, so prune can tell how
 * much of each pack is still needed.
 */
export class BlobTable {
  private capacity: number;
  private count = 0;
  private ids: Uint8Array;
  private packs: Uint32Array;
  private offsets: Uint32Array;
  private lengths: Uint32Array;
  private rawLengths: Uint32Array;
  private types: Uint8Array;
  /** 1 when the entry is the copy of a blob that snapshots need. */
  private used: Uint8Array;
  private table: Int32Array;
  private mask: number;
  private readonly packIds: string[] = [];
  private readonly packNumbers = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    this.ids = new Uint8Array(this.capacity * ID_LENGTH);
    this.packs = new Uint32Array(this.capacity);
    this.offsets = new Uint32Array(this.capacity);
    this.lengths = new Uint32Array(this.capacity);
    this.rawLengths = new Uint32Array(this.capacity);
    this.types = new Uint8Array(this.capacity);
    this.used = new Uint8Array(this.capacity);
    this.table = new Int32Array(this.capacity * 2);
    this.mask = this.table.length - 1;
  }

  get size(): number {
    return this.count;
  }

  get packCount(): number {
    return this.packIds.length;
  }

  packNumber(packId: string): number {
    let n = this.packNumbers.get(packId);
    if (n === undefined) {
      n = this.packIds.length;
      this.packIds.push(packId);
      this.packNumbers.set(packId, n);
    }
    return n;
  }

  packId(packNumber: number): string {
    return this.packIds[packNumber];
  }

  hasPack(packId: string): boolean {
    return this.packNumbers.has(packId);
  }

  private hash(id: Uint8Array): number {
    return ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) & this.mask;
  }

  private sameId(entry: number, id: Uint8Array): boolean {
    const base = entry * ID_LENGTH;
    for (let i = 0; i < ID_LENGTH; i++) if (this.ids[base + i] !== id[i]) return false;
    return true;
  }

  /** Add an entry, even when the id is already known from another pack; returns its number. */
  add(packNumber: number, blob: BlobEntry): number {
    if (this.count + 1 > this.capacity) this.grow();
    const e = this.count++;
    this.ids.set(blob.id.subarray(0, ID_LENGTH), e * ID_LENGTH);
    this.packs[e] = packNumber;
    this.offsets[e] = blob.offset;
    this.lengths[e] = blob.length;
    this.rawLengths[e] = blob.rawLength;
    this.types[e] = blob.type;
    this.insert(e);
    return e;
  }

  private insert(e: number): void {
    let slot = this.hash(this.ids.subarray(e * ID_LENGTH, e * ID_LENGTH + 4));
    while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
    this.table[slot] = e + 1;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const grown = <T extends Uint8Array | Uint32Array>(old: T, make: (n: number) => T, per = 1): T => {
      const next = make(cap * per);
      next.set(old);
      return next;
    };
    this.ids = grown(this.ids, (n) => new Uint8Array(n), ID_LENGTH);
    this.packs = grown(this.packs, (n) => new Uint32Array(n));
    this.offsets = grown(this.offsets, (n) => new Uint32Array(n));
    this.lengths = grown(this.lengths, (n) => new Uint32Array(n));
    this.rawLengths = grown(this.rawLengths, (n) => new Uint32Array(n));
    this.types = grown(this.types, (n) => new Uint8Array(n));
    this.used = grown(this.used, (n) => new Uint8Array(n));
    this.capacity = cap;
    this.table = new Int32Array(cap * 2);
    this.mask = this.table.length - 1;
    for (let e = 0; e < this.count; e++) this.insert(e);
  }

  /**
   * Mark the blob as needed. Returns the entry chosen to keep (the first copy, in insertion order, in
   * a pack that `usable` accepts), 'known' when a copy was already marked, or 'missing' when no usable
   * copy exists. Linear probing keeps equal ids in insertion order along their chain.
   */
  claim(id: Uint8Array, usable: (packNumber: number) => boolean): number | 'known' | 'missing' {
    let chosen = -1;
    for (let slot = this.hash(id); ; slot = (slot + 1) & this.mask) {
      const e = this.table[slot] - 1;
      if (e < 0) break;
      if (!this.sameId(e, id)) continue;
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

  packOf(e: number): number {
    return this.packs[e];
  }

  /** Stored (sealed) length of an entry. */
  lengthOf(e: number): number {
    return this.lengths[e];
  }

  entry(e: number): BlobEntry {
    return {
      type: this.types[e] as BlobType,
      id: this.ids.subarray(e * ID_LENGTH, (e + 1) * ID_LENGTH),
      offset: this.offsets[e],
      length: this.lengths[e],
      rawLength: this.rawLengths[e],
    };
  }

  /** Entry numbers grouped by pack: `order[start[p] .. start[p + 1])` are pack p's entries, in insertion order. */
  byPack(): { order: Uint32Array; start: Uint32Array } {
    const start = new Uint32Array(this.packIds.length + 1);
    for (let e = 0; e < this.count; e++) start[this.packs[e] + 1]++;
    for (let p = 0; p < this.packIds.length; p++) start[p + 1] += start[p];
    const next = start.slice(0, this.packIds.length);
    const order = new Uint32Array(this.count);
    for (let e = 0; e < this.count; e++) order[next[this.packs[e]]++] = e;
    return { order, start };
  }
}
