/**
 * A small LRU of L2 tables keyed by host offset. Tables are loaded on first use and at most
 * `capacity` are kept, so walking a 1 TiB disk costs a handful of clusters of memory, whatever its
 * size. Pending loads are shared: two reads that need the same table fetch it once.
 */
export class L2Cache {
  private readonly tables = new Map<number, Promise<DataView>>();
  /** Tables fetched from the reader (misses), for tests and benchmarks. */
  loads = 0;

  constructor(
    private readonly capacity: number,
    private readonly load: (hostOffset: number) => Promise<Uint8Array>,
  ) {}

  get(hostOffset: number): Promise<DataView> {
    const hit = this.tables.get(hostOffset);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.tables.delete(hostOffset);
      this.tables.set(hostOffset, hit);
      return hit;
    }
    this.loads++;
    const pending = this.load(hostOffset).then((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
    this.tables.set(hostOffset, pending);
    // A failed load must not stay cached; the caller sees the rejection through `pending`.
    pending.catch(() => {
      if (this.tables.get(hostOffset) === pending) this.tables.delete(hostOffset);
    });
    while (this.tables.size > this.capacity) {
      const oldest = this.tables.keys().next().value as number;
      this.tables.delete(oldest);
    }
    return pending;
  }

  get size(): number {
    return this.tables.size;
  }
}
