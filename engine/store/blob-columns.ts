import { ID_LENGTH } from '../crypto/chunk-id';
import type { BlobEntry, BlobType } from './blob';

/**
 * Blob locations in typed arrays (FORMAT.md §7): 49 bytes of columns per entry (id, pack number,
 * offset, lengths, type) plus an open-addressing hash table of Int32 slots kept at most half full,
 * and no object per blob for the garbage collector to walk. Blob ids are HMAC outputs, uniformly
 * random, so their first four bytes are a good hash. Entries with equal ids sit along one probe chain
 * in insertion order. MemoryIndex (one location per blob) and BlobTable (every copy, for prune) are
 * built on this.
 */
export class BlobColumns {
  protected capacity: number;
  protected count = 0;
  protected ids: Uint8Array;
  protected packs: Uint32Array;
  protected offsets: Uint32Array;
  protected lengths: Uint32Array;
  protected rawLengths: Uint32Array;
  protected types: Uint8Array;
  protected table: Int32Array;
  protected mask: number;
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
    this.table = new Int32Array(this.capacity * 2);
    this.mask = this.table.length - 1;
  }

  get size(): number {
    return this.count;
  }

  get packCount(): number {
    return this.packIds.length;
  }

  /** Pack number for a pack id (hex), registering it when new. */
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

  packOf(e: number): number {
    return this.packs[e];
  }

  /** Stored (sealed) length of an entry. */
  lengthOf(e: number): number {
    return this.lengths[e];
  }

  /** The entry's location; its id is a view into the table (copy it to keep it). */
  blobAt(e: number): BlobEntry {
    return {
      type: this.types[e] as BlobType,
      id: this.ids.subarray(e * ID_LENGTH, (e + 1) * ID_LENGTH),
      offset: this.offsets[e],
      length: this.lengths[e],
      rawLength: this.rawLengths[e],
    };
  }

  /** Approximate bytes held, for the memory figure in docs and tests. */
  get byteSize(): number {
    return this.capacity * (ID_LENGTH + 4 * 4 + 1) + this.table.byteLength;
  }

  /** Hash slot of the id whose first byte is `bytes[at]` (no view needed for ids in the table). */
  protected slotOf(bytes: Uint8Array, at = 0): number {
    return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) & this.mask;
  }

  protected sameId(entry: number, id: Uint8Array): boolean {
    const base = entry * ID_LENGTH;
    for (let i = 0; i < ID_LENGTH; i++) if (this.ids[base + i] !== id[i]) return false;
    return true;
  }

  /** Entries with this id, in insertion order (along the probe chain). */
  protected *entriesWithId(id: Uint8Array): Generator<number> {
    for (let slot = this.slotOf(id); ; slot = (slot + 1) & this.mask) {
      const e = this.table[slot] - 1;
      if (e < 0) return;
      if (this.sameId(e, id)) yield e;
    }
  }

  /** First entry with this id, or -1 (the hot lookup: no generator). */
  protected firstWithId(id: Uint8Array): number {
    for (let slot = this.slotOf(id); ; slot = (slot + 1) & this.mask) {
      const e = this.table[slot] - 1;
      if (e < 0 || this.sameId(e, id)) return e;
    }
  }

  /** Append an entry (duplicates allowed); returns its number. */
  protected append(packNumber: number, blob: BlobEntry): number {
    if (this.count + 1 > this.capacity) this.grow();
    const e = this.count++;
    this.ids.set(blob.id.length === ID_LENGTH ? blob.id : blob.id.subarray(0, ID_LENGTH), e * ID_LENGTH);
    this.packs[e] = packNumber;
    this.offsets[e] = blob.offset;
    this.lengths[e] = blob.length;
    this.rawLengths[e] = blob.rawLength;
    this.types[e] = blob.type;
    this.insert(e);
    return e;
  }

  private insert(e: number): void {
    let slot = this.slotOf(this.ids, e * ID_LENGTH);
    while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
    this.table[slot] = e + 1;
  }

  /** Subclasses with columns of their own grow them here (to `capacity` entries). */
  protected growColumns(_capacity: number): void {
    // No extra columns in the base table.
  }

  protected static grown<T extends Uint8Array | Uint32Array>(old: T, length: number): T {
    const next = new (old.constructor as new (n: number) => T)(length);
    next.set(old);
    return next;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const g = BlobColumns.grown;
    this.ids = g(this.ids, cap * ID_LENGTH);
    this.packs = g(this.packs, cap);
    this.offsets = g(this.offsets, cap);
    this.lengths = g(this.lengths, cap);
    this.rawLengths = g(this.rawLengths, cap);
    this.types = g(this.types, cap);
    this.growColumns(cap);
    this.capacity = cap;
    this.table = new Int32Array(cap * 2);
    this.mask = this.table.length - 1;
    for (let e = 0; e < this.count; e++) this.insert(e);
  }
}
