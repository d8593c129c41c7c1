/**
 * Getting the store's index into a Repository (FORMAT.md §7, §7.1): index files are read whole into
 * the MemoryIndex; index tables are read whole when small (or when the command needs every entry),
 * else kept in the store, and the entries a command needs are found there and added when it asks
 * (`ensureIndexed`). So a backup or a restore holds what it touches, not what the store holds.
 */
import { AAD } from '../crypto/seal';
import { DamagedObjectError } from '../errors';
import type { BlobEntry } from './blob';
import { decodeIndex } from './index-file';
import { ENTRY_BYTES, readEntry, writeEntry } from './index-table/format';
import { TableReader } from './index-table/table-reader';
import { TABLE_DIR } from './index-table/table-writer';
import type { MemoryIndex } from './memory-index';
import type { Repository } from './repository';

/**
 * Tables up to this many entries are read whole: 12.25 MiB of rows while reading, then about 14 MiB
 * in the MemoryIndex. Larger tables stay in the store, and a lookup costs a ranged read of one block.
 */
export const WHOLE_TABLE_ENTRIES = 1 << 18;

export interface LoadIndexOptions {
  /** Read every table whole, whatever its size: prune, check and copy need every entry. */
  full?: boolean;
}

export class IndexLoader {
  private readonly files = new Set<string>();
  private readonly tablesSeen = new Set<string>();
  /** Tables left in the store, looked up on demand. */
  readonly lazy: TableReader[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly index: MemoryIndex,
    private readonly tables: boolean,
    /** Tables up to this many entries are read whole; larger ones stay in the store. */
    private readonly wholeTableEntries = WHOLE_TABLE_ENTRIES,
  ) {}

  /** Remember an index file this process wrote (its entries are in the index already). */
  wrote(path: string): void {
    this.files.add(path);
  }

  /** Load index files and tables not yet loaded (new ones may have appeared since: other writers). */
  async load(options: LoadIndexOptions = {}): Promise<void> {
    for await (const obj of this.repo.backend.list('index')) {
      if (!this.files.has(obj.path)) await this.loadFile(obj.path);
    }
    if (!this.tables) return;
    for await (const obj of this.repo.backend.list(TABLE_DIR)) {
      if (this.tablesSeen.has(obj.path)) continue;
      const table = await TableReader.open(this.repo, obj.path);
      if (options.full || table.entries <= this.wholeTableEntries) await this.readWhole(table);
      else this.lazy.push(table);
      this.tablesSeen.add(obj.path);
    }
    if (options.full) {
      for (const table of this.lazy.splice(0)) await this.readWhole(table);
    }
  }

  /** Load one index file; a damaged one throws DamagedObjectError naming it, leaving the rest loaded. */
  async loadFile(path: string): Promise<void> {
    const payload = await this.repo.loadObject(path, AAD.index);
    // Decode fully before adding, so a file damaged half-way adds nothing.
    const entries: Array<[string, BlobEntry]> = [];
    // The ids are views into `payload`, alive until added (add() copies them into the index).
    decodeIndex(payload, path, (packId, blob) => entries.push([packId, blob]));
    for (const [packId, blob] of entries) this.index.add(this.index.packNumber(packId), blob);
    this.files.add(path);
  }

  /** Read a table whole into the index (checked against its names), or nothing of it if it is damaged. */
  async readWhole(table: TableReader): Promise<void> {
    // Rows in one buffer (no object per entry), pack numbers local to the table until it all checked out.
    const rows = Buffer.allocUnsafe(table.entries * ENTRY_BYTES);
    const packs: string[] = [];
    const packNumbers = new Map<string, number>();
    let n = 0;
    await table.readAll((packId, blob) => {
      let pn = packNumbers.get(packId);
      if (pn === undefined) {
        pn = packs.push(packId) - 1;
        packNumbers.set(packId, pn);
      }
      if (n === table.entries) throw new DamagedObjectError(table.path, `holds more than the ${table.entries} entries its manifest says`);
      writeEntry(rows, n++ * ENTRY_BYTES, blob, pn);
    });
    for (let i = 0; i < n; i++) {
      const e = readEntry(rows, i, table.path);
      this.index.add(this.index.packNumber(packs[e.packNumber]), e.blob);
    }
  }

  /**
   * Make sure the index holds every id of `ids` that the store has: those not in memory are looked
   * up in the tables left in the store (their blocks read in parallel) and added. Ids the store
   * does not have stay absent.
   */
  async ensure(ids: readonly Uint8Array[]): Promise<void> {
    if (this.lazy.length === 0) return;
    let missing = ids.filter((id) => !this.index.has(id));
    for (const table of this.lazy) {
      if (missing.length === 0) return;
      const hits = await table.find(missing);
      const still: Uint8Array[] = [];
      for (let i = 0; i < missing.length; i++) {
        const hit = hits[i];
        if (hit) this.index.add(this.index.packNumber(hit.pack), hit.blob);
        else still.push(missing[i]);
      }
      missing = still;
    }
  }
}
