/**
 * Reading an index table (FORMAT.md §7.1). The manifest stays in memory (8 bytes per 80 entries);
 * lookups read the one block an id can be in, many at a time, through a bounded cache; a small
 * table, or a command that needs every entry (prune, check, copy), reads it whole instead.
 */
import { createHash } from 'node:crypto';
import { ID_LENGTH, idToHex } from '../../crypto/chunk-id';
import { AAD } from '../../crypto/seal';
import { DamagedObjectError } from '../../errors';
import type { BlobEntry } from '../blob';
import type { Repository } from '../repository';
import {
  BLOCK_BYTES, ENTRIES_PER_BLOCK, ENTRY_BYTES, PACK_LIST_SHARD, PACKS_PER_PAGE, PAGE_BYTES, blockAad, blocksOf, compareEntryId, decodeManifest,
  readEntry, shardOf, type TableManifest,
} from './format';
import { SHARD_DIR } from './table-writer';

/** Blocks kept decoded (about 4 KiB each): 8 MiB. */
const CACHE_BLOCKS = 2048;
/** Block reads in flight at once. */
const READS_IN_FLIGHT = 32;

/** A blob found in a table: where it is. */
export interface TableHit {
  pack: string;
  blob: BlobEntry;
}

export class TableReader {
  private readonly cache = new Map<string, Buffer>();
  private readonly pages = new Map<number, Buffer>();

  private constructor(private readonly repo: Repository, readonly path: string, readonly manifest: TableManifest) {}

  static async open(repo: Repository, path: string): Promise<TableReader> {
    return new TableReader(repo, path, decodeManifest(await repo.loadObject(path, AAD.indexTable), path));
  }

  get entries(): number {
    return this.manifest.entries;
  }

  /** Every shard and pack-list object the table is made of. */
  get objects(): string[] {
    return [...this.manifest.shards.map((s) => `${SHARD_DIR}/${s.object}`), `${SHARD_DIR}/${this.manifest.packList}`];
  }

  private get stride(): number {
    return BLOCK_BYTES + this.repo.keys.sealer.overhead;
  }

  private where(shard: number, block: number): string {
    return `${this.path} (shard ${shard}, block ${block})`;
  }

  private openBlock(shard: number, block: number, sealed: Uint8Array): Buffer {
    const plain = this.repo.keys.sealer.open(blockAad(this.manifest.tableId, shard, block), sealed);
    const s = this.manifest.shards[shard];
    const expected = Math.min(ENTRIES_PER_BLOCK, s.entries - block * ENTRIES_PER_BLOCK) * ENTRY_BYTES;
    if (!plain || plain.length !== expected) throw new DamagedObjectError(this.where(shard, block), 'authentication failed (truncated, moved or modified)');
    return plain;
  }

  private async block(shard: number, block: number): Promise<Buffer> {
    const key = `${shard}/${block}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const s = this.manifest.shards[shard];
    const length = Math.min(ENTRIES_PER_BLOCK, s.entries - block * ENTRIES_PER_BLOCK) * ENTRY_BYTES + this.repo.keys.sealer.overhead;
    const sealed = await this.repo.backend.get(`${SHARD_DIR}/${s.object}`, { offset: block * this.stride, length });
    const plain = this.openBlock(shard, block, sealed);
    this.cache.set(key, plain);
    if (this.cache.size > CACHE_BLOCKS) this.cache.delete(this.cache.keys().next().value as string);
    return plain;
  }

  /** The blocks of a shard that can hold `id`: those whose first 8 bytes bracket the id's (usually one). */
  private candidates(shard: number, id: Uint8Array): number[] {
    const first = this.manifest.shards[shard].firstIds;
    const blocks = first.length / 8;
    if (blocks === 0) return [];
    const prefix = Buffer.from(id.buffer, id.byteOffset, 8);
    // Last block whose first 8 bytes are < the id's, and last whose are <= it.
    const lastBelow = (inclusive: boolean): number => {
      let lo = 0;
      let hi = blocks - 1;
      let ans = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        // Block mid's first 8 bytes against the id's: negative when the block starts before it.
        const c = first.compare(prefix, 0, 8, mid * 8, mid * 8 + 8);
        if (c < 0 || (inclusive && c === 0)) {
          ans = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return ans;
    };
    const from = Math.max(0, lastBelow(false));
    const to = lastBelow(true);
    const out: number[] = [];
    for (let b = from; b <= Math.max(from, to); b++) out.push(b);
    return out;
  }

  private static search(block: Buffer, id: Uint8Array): number {
    let lo = 0;
    let hi = block.length / ENTRY_BYTES - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = compareEntryId(block, mid, id);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Look up many ids at once: each id's block is read (once, however many ids fall in it; up to
   * READS_IN_FLIGHT reads at a time). Returns, per id, where the blob is, or undefined. With
   * `withPacks: false` the pack id is left empty (a backup only asks whether a blob exists).
   */
  async find(ids: readonly Uint8Array[], options: { withPacks?: boolean } = {}): Promise<Array<TableHit | undefined>> {
    const bits = this.manifest.shardBits;
    const wanted = new Map<string, { shard: number; block: number }>();
    const plan = ids.map((id) => {
      const shard = shardOf(id, bits);
      const blocks = this.candidates(shard, id);
      for (const block of blocks) wanted.set(`${shard}/${block}`, { shard, block });
      return { shard, blocks };
    });
    const queue = [...wanted.values()];
    const fetched = new Map<string, Buffer>();
    const worker = async (): Promise<void> => {
      for (let w = queue.shift(); w; w = queue.shift()) fetched.set(`${w.shard}/${w.block}`, await this.block(w.shard, w.block));
    };
    await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, queue.length) }, worker));
    const out: Array<TableHit | undefined> = [];
    for (let i = 0; i < ids.length; i++) {
      let hit: TableHit | undefined;
      for (const b of plan[i].blocks) {
        const block = fetched.get(`${plan[i].shard}/${b}`) as Buffer;
        const at = TableReader.search(block, ids[i]);
        if (at < 0) continue;
        const e = readEntry(block, at, this.where(plan[i].shard, b));
        const blob = { ...e.blob, id: Buffer.from(e.blob.id) };
        hit = { pack: options.withPacks === false ? '' : await this.packId(e.packNumber), blob };
        break;
      }
      out.push(hit);
    }
    return out;
  }

  /** The id of pack number `n` of the table (its pack list is read a page at a time). */
  async packId(n: number): Promise<string> {
    if (!(n >= 0 && n < this.manifest.packs)) throw new DamagedObjectError(this.path, `an entry names pack ${n} of ${this.manifest.packs}`);
    const p = Math.floor(n / PACKS_PER_PAGE);
    let page = this.pages.get(p);
    if (!page) {
      const count = Math.min(PACKS_PER_PAGE, this.manifest.packs - p * PACKS_PER_PAGE);
      const overhead = this.repo.keys.sealer.overhead;
      const sealed = await this.repo.backend.get(`${SHARD_DIR}/${this.manifest.packList}`, { offset: p * (PAGE_BYTES + overhead), length: count * ID_LENGTH + overhead });
      const plain = this.repo.keys.sealer.open(blockAad(this.manifest.tableId, PACK_LIST_SHARD, p), sealed);
      if (!plain || plain.length !== count * ID_LENGTH) throw new DamagedObjectError(`${this.path} (pack list page ${p})`, 'authentication failed (truncated, moved or modified)');
      page = plain;
      this.pages.set(p, page);
    }
    const at = (n % PACKS_PER_PAGE) * ID_LENGTH;
    return idToHex(page.subarray(at, at + ID_LENGTH));
  }

  /**
   * Read the whole table, every object checked against its name, and hand every entry to `visit`
   * (the id is a view, valid during the call). For small tables and for commands that need it all.
   */
  async readAll(visit: (packId: string, blob: BlobEntry) => void): Promise<void> {
    const whole = async (object: string): Promise<Buffer> => {
      const path = `${SHARD_DIR}/${object}`;
      const bytes = Buffer.from(await this.repo.backend.get(path));
      if (createHash('sha256').update(bytes).digest('hex') !== object) {
        throw new DamagedObjectError(path, 'its contents do not match its name (the file was replaced by another object\'s bytes, or damaged)');
      }
      return bytes;
    };
    const overhead = this.repo.keys.sealer.overhead;
    const list = await whole(this.manifest.packList);
    const packs: string[] = [];
    for (let p = 0; p * PACKS_PER_PAGE < this.manifest.packs; p++) {
      const count = Math.min(PACKS_PER_PAGE, this.manifest.packs - p * PACKS_PER_PAGE);
      const at = p * (PAGE_BYTES + overhead);
      const plain = this.repo.keys.sealer.open(blockAad(this.manifest.tableId, PACK_LIST_SHARD, p), list.subarray(at, at + count * ID_LENGTH + overhead));
      if (!plain || plain.length !== count * ID_LENGTH) throw new DamagedObjectError(`${this.path} (pack list page ${p})`, 'authentication failed (truncated, moved or modified)');
      for (let i = 0; i < count; i++) packs.push(idToHex(plain.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH)));
    }
    for (const [shard, s] of this.manifest.shards.entries()) {
      const bytes = await whole(s.object);
      const blocks = blocksOf(s.entries);
      const expected = blocks === 0 ? 0 : (blocks - 1) * this.stride + (s.entries - (blocks - 1) * ENTRIES_PER_BLOCK) * ENTRY_BYTES + overhead;
      if (bytes.length !== expected) throw new DamagedObjectError(`${SHARD_DIR}/${s.object}`, `is ${bytes.length} bytes, not the ${expected} its table says`);
      for (let b = 0; b < blocks; b++) {
        const block = this.openBlock(shard, b, bytes.subarray(b * this.stride, Math.min(bytes.length, (b + 1) * this.stride)));
        for (let i = 0; i < block.length / ENTRY_BYTES; i++) {
          const e = readEntry(block, i, this.where(shard, b));
          if (e.packNumber >= packs.length) throw new DamagedObjectError(this.where(shard, b), `entry ${i} names pack ${e.packNumber} of ${packs.length}`);
          visit(packs[e.packNumber], e.blob);
        }
      }
    }
  }
}
