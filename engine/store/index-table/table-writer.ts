/**
 * Writing an index table (FORMAT.md §7.1): entries collected in columns (49 bytes each, no object per
 * entry), then, shard by shard, sorted by id, cut into blocks, each sealed on its own, and stored;
 * then the pack list and last the manifest, which is what makes the table visible. Only prune and
 * compact write tables, under the exclusive lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ID_LENGTH } from '../../crypto/chunk-id';
import { AAD } from '../../crypto/seal';
import type { BlobEntry } from '../blob';
import type { Repository } from '../repository';
import {
  BLOCK_BYTES, ENTRIES_PER_BLOCK, ENTRY_BYTES, PACK_LIST_SHARD, PACKS_PER_PAGE, blockAad, encodeManifest, shardBitsFor, shardOf, writeEntry,
  type ShardInfo,
} from './format';

export const SHARD_DIR = 'index-shards';
export const TABLE_DIR = 'index-tables';

/** Every entry given, in columns that grow by doubling. */
export class TableBuilder {
  private count = 0;
  private rows = Buffer.allocUnsafe(1024 * ENTRY_BYTES);
  private packOfRow = new Uint32Array(1024);
  private readonly packIds: string[] = [];
  private readonly packNumbers = new Map<string, number>();

  get size(): number {
    return this.count;
  }

  add(packId: string, blob: BlobEntry): void {
    let pn = this.packNumbers.get(packId);
    if (pn === undefined) {
      pn = this.packIds.length;
      this.packIds.push(packId);
      this.packNumbers.set(packId, pn);
    }
    if ((this.count + 1) * ENTRY_BYTES > this.rows.length) {
      const rows = Buffer.allocUnsafe(this.rows.length * 2);
      this.rows.copy(rows, 0, 0, this.count * ENTRY_BYTES);
      this.rows = rows;
      const packs = new Uint32Array(this.packOfRow.length * 2);
      packs.set(this.packOfRow);
      this.packOfRow = packs;
    }
    writeEntry(this.rows, this.count * ENTRY_BYTES, blob, pn);
    this.packOfRow[this.count] = pn;
    this.count++;
  }

  private idOf(row: number): Buffer {
    return this.rows.subarray(row * ENTRY_BYTES + 1, row * ENTRY_BYTES + 1 + ID_LENGTH);
  }

  /**
   * Store the table: shards, pack list, then the manifest; returns the manifest's path and every
   * object written. A table of no entries is still a table (it says the index is empty).
   */
  async write(repo: Repository, options: { shardBits?: number } = {}): Promise<{ path: string; objects: string[] }> {
    const bits = options.shardBits ?? shardBitsFor(this.count);
    const shardCount = 2 ** bits;
    // Rows grouped by shard (a counting sort), then each shard's rows sorted by id.
    const starts = new Uint32Array(shardCount + 1);
    for (let r = 0; r < this.count; r++) starts[shardOf(this.idOf(r), bits) + 1]++;
    for (let s = 0; s < shardCount; s++) starts[s + 1] += starts[s];
    const order = new Uint32Array(this.count);
    const next = starts.slice(0, shardCount);
    for (let r = 0; r < this.count; r++) order[next[shardOf(this.idOf(r), bits)]++] = r;

    const writer = new TableWriter(repo, bits);
    for (let s = 0; s < shardCount; s++) {
      const rows = Array.from(order.subarray(starts[s], starts[s + 1]));
      // The first four bytes of the ids decide almost every comparison without a view of either id.
      const r = this.rows;
      rows.sort((a, b) => {
        const x = r.readUInt32BE(a * ENTRY_BYTES + 1);
        const y = r.readUInt32BE(b * ENTRY_BYTES + 1);
        if (x !== y) return x < y ? -1 : 1;
        return Buffer.compare(this.idOf(a), this.idOf(b)) || this.packOfRow[a] - this.packOfRow[b];
      });
      const sorted = Buffer.allocUnsafe(rows.length * ENTRY_BYTES);
      for (let i = 0; i < rows.length; i++) r.copy(sorted, i * ENTRY_BYTES, rows[i] * ENTRY_BYTES, (rows[i] + 1) * ENTRY_BYTES);
      await writer.addShard(sorted);
    }
    return writer.finish(this.packIds);
  }
}

/**
 * Writes a table shard after shard, in shard order, each handed over already sorted by id: the
 * TableBuilder's last step, and what the bench's synthetic stores (bench/fleet-store.ts) call with
 * rows they generate in order.
 */
export class TableWriter {
  private readonly tableId = randomBytes(ID_LENGTH);
  private readonly shards: ShardInfo[] = [];
  private readonly objects: string[] = [];
  private entries = 0;

  constructor(private readonly repo: Repository, private readonly bits: number) {}

  private async put(bytes: Buffer): Promise<string> {
    const name = createHash('sha256').update(bytes).digest('hex');
    await this.repo.backend.put(`${SHARD_DIR}/${name}`, bytes);
    this.objects.push(`${SHARD_DIR}/${name}`);
    return name;
  }

  /** Store the next shard: `rows` holds its entries (ENTRY_BYTES each) sorted by id, all of this shard. */
  async addShard(rows: Buffer): Promise<void> {
    const shard = this.shards.length;
    if (shard >= 2 ** this.bits) throw new Error(`a table of ${this.bits} shard bits has ${2 ** this.bits} shards`);
    const count = rows.length / ENTRY_BYTES;
    const blocks = Math.ceil(count / ENTRIES_PER_BLOCK);
    const firstIds = Buffer.allocUnsafe(blocks * 8);
    const sealed: Buffer[] = [];
    for (let b = 0; b < blocks; b++) {
      const block = rows.subarray(b * BLOCK_BYTES, Math.min(rows.length, (b + 1) * BLOCK_BYTES));
      block.copy(firstIds, b * 8, 1, 9);
      sealed.push(this.repo.keys.sealer.seal(blockAad(this.tableId, shard, b), [block]));
    }
    this.shards.push({ object: await this.put(Buffer.concat(sealed)), entries: count, firstIds });
    this.entries += count;
  }

  /** Store the pack list (entries name packs by their place in it), then the manifest: the table is visible from then on. */
  async finish(packIds: readonly string[]): Promise<{ path: string; objects: string[] }> {
    if (this.shards.length !== 2 ** this.bits) throw new Error(`${this.shards.length} of ${2 ** this.bits} shards written`);
    const sealer = this.repo.keys.sealer;
    const pages: Buffer[] = [];
    for (let p = 0; p * PACKS_PER_PAGE < Math.max(1, packIds.length); p++) {
      const ids = packIds.slice(p * PACKS_PER_PAGE, (p + 1) * PACKS_PER_PAGE);
      pages.push(sealer.seal(blockAad(this.tableId, PACK_LIST_SHARD, p), [Buffer.concat(ids.map((id) => Buffer.from(id, 'hex')))]));
    }
    const packList = await this.put(Buffer.concat(pages));
    const manifest = encodeManifest({ tableId: this.tableId, entries: this.entries, packs: packIds.length, packList, shardBits: this.bits, shards: this.shards });
    const id = await this.repo.saveObject(TABLE_DIR, AAD.indexTable, manifest);
    return { path: `${TABLE_DIR}/${id}`, objects: [...this.objects, `${TABLE_DIR}/${id}`] };
  }
}
