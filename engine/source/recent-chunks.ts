/** Granule of the lookup: a file system's block. */
const BLOCK = 4096;

interface Recent {
  offset: number;
  data: Buffer;
}

/**
 * The chunks a reader served last, found by guest offset in O(1): every 4 KiB block a chunk covers
 * points at it. A file system reads 4 KiB at a time, and a path lookup in a large directory reads the
 * same ~50 directory blocks and inode table blocks, spread over ~100 chunks, once per lookup; served
 * from here they cost no map lookup and no id conversion. First in, first out, bounded by bytes
 * (the buffers are mostly the chunk cache's own).
 */
export class RecentChunks {
  private readonly byBlock = new Map<number, Recent>();
  private readonly order: Recent[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The chunk holding all of [offset, end), if it is one of the recent ones. */
  find(offset: number, end: number): Recent | undefined {
    const r = this.byBlock.get(Math.floor(offset / BLOCK));
    return r && offset >= r.offset && end <= r.offset + r.data.length ? r : undefined;
  }

  add(offset: number, data: Buffer): void {
    if (this.find(offset, offset + data.length) || data.length > this.maxBytes) return;
    const r = { offset, data };
    this.order.push(r);
    this.bytes += data.length;
    for (let b = Math.floor(offset / BLOCK); b * BLOCK < offset + data.length; b++) this.byBlock.set(b, r);
    while (this.bytes > this.maxBytes) {
      const old = this.order.shift() as Recent;
      this.bytes -= old.data.length;
      for (let b = Math.floor(old.offset / BLOCK); b * BLOCK < old.offset + old.data.length; b++) {
        if (this.byBlock.get(b) === old) this.byBlock.delete(b);
      }
    }
  }

  clear(): void {
    this.byBlock.clear();
    this.order.length = 0;
    this.bytes = 0;
  }
}
