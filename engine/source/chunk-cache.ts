/**
 * Decrypted, verified chunks of a snapshot, least recently used first out, bounded by their bytes:
 * the random-access reader (snapshot-reader.ts) serves small reads from here instead of fetching and
 * opening a whole chunk for every 4 KiB a file system asks for.
 */
export class ChunkCache {
  /** Insertion order of a Map is its LRU order: a hit is deleted and set again. */
  private readonly chunks = new Map<string, Buffer>();
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held now (never more than maxBytes). */
  get bytes(): number {
    return this.held;
  }

  get count(): number {
    return this.chunks.size;
  }

  get(key: string): Buffer | undefined {
    const data = this.chunks.get(key);
    if (data) {
      this.chunks.delete(key);
      this.chunks.set(key, data);
    }
    return data;
  }

  has(key: string): boolean {
    return this.chunks.has(key);
  }

  /** Keep `data` under `key`, dropping the least recently used chunks to stay within maxBytes. */
  set(key: string, data: Buffer): void {
    if (data.length > this.maxBytes) return;
    const old = this.chunks.get(key);
    if (old) {
      this.held -= old.length;
      this.chunks.delete(key);
    }
    while (this.held + data.length > this.maxBytes) {
      const [oldest, chunk] = this.chunks.entries().next().value as [string, Buffer];
      this.chunks.delete(oldest);
      this.held -= chunk.length;
    }
    this.chunks.set(key, data);
    this.held += data.length;
  }

  clear(): void {
    this.chunks.clear();
    this.held = 0;
  }
}
