import { ID_LENGTH } from '../crypto/chunk-id';
import type { BlobEntry, BlobType } from './blob';

/**
 * All known blobs in typed arrays (FORMAT.md §7): 49 bytes of columns per blob plus an
 * open-addressing hash table of Int32 slots kept at most half full, ~57 bytes per blob, and no
 * object per blob for the garbage collector to walk. Blob ids are HMAC outputs, uniformly random,
 * so their first four bytes are a good hash.
 */
export class MemoryIndex {
  private capacity: number;
  private count = 0;
  private ids: Uint8Array;
  private packs: Uint32Array;
  private offsets: Uint32Array;
  private lengths: Uint32Array;
  private rawLengths: Uint32Array;
  private types: Uint8Array;
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

  private hash(id: Uint8Array): number {
    return ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) & this.mask;
  }

  private sameId(entry: number, id: Uint8Array): boolean {
    const base = entry * ID_LENGTH;
    for (let i = 0; i < ID_LENGTH; i++) if (this.ids[base + i] !== id[i]) return false;
    return true;
  }

  /** Entry number of a blob, or -1. */
  find(id: Uint8Array): number {
    for (let slot = this.hash(id); ; slot = (slot + 1) & this.mask) {
      const e = this.table[slot];
      if (e === 0) return -1;
      if (this.sameId(e - 1, id)) return e - 1;
    }
  }

  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
  }

  /** Add a blob; a blob already known keeps its first location (any copy is valid). */
  add(packNumber: number, blob: BlobEntry): void {
    if (this.find(blob.id) >= 0) return;
    if (this.count + 1 > this.capacity) this.grow();
    const e = this.count++;
    this.ids.set(blob.id.subarray(0, ID_LENGTH), e * ID_LENGTH);
    this.packs[e] = packNumber;
    this.offsets[e] = blob.offset;
    this.lengths[e] = blob.length;
    this.rawLengths[e] = blob.rawLength;
    this.types[e] = blob.type;
    this.insert(e);
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
    this.capacity = cap;
    this.table = new Int32Array(cap * 2);
    this.mask = this.table.length - 1;
    for (let e = 0; e < this.count; e++) this.insert(e);
  }

  entry(e: number): { pack: string; blob: BlobEntry } {
    return {
      pack: this.packIds[this.packs[e]],
      blob: {
        type: this.types[e] as BlobType,
        id: this.ids.subarray(e * ID_LENGTH, (e + 1) * ID_LENGTH),
        offset: this.offsets[e],
        length: this.lengths[e],
        rawLength: this.rawLengths[e],
      },
    };
  }

  packOf(e: number): number {
    return this.packs[e];
  }

  /** Approximate bytes held, for the memory figure in docs and tests. */
  get byteSize(): number {
    return this.capacity * (ID_LENGTH + 4 * 4 + 1) + this.table.byteLength;
  }
}
