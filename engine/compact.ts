/**
 * `compact`: merge the store's index files and tables into one table (FORMAT.md §7.1), without
 * removing any data, under the exclusive lock. Prune does the same as part of its work; compact is
 * for stores that take many backups between prunes (every command lists and reads the index).
 */
import { deleteOldIndex, loadIndexObjects, usesTables, writeIndex } from './index-rewrite';
import { BackupError, InvalidInputError } from './errors';
import { BlobTable } from './store/blob-table';
import type { IndexedPack } from './store/index-file';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import { rewriteCatalog } from './store/snapshots';

export interface CompactOptions {
  /** Stop before anything is deleted (Ctrl-C). */
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

export interface CompactResult {
  /** Index files and tables read. */
  read: number;
  /** Index objects written (one table). */
  written: number;
  removed: number;
  entries: number;
  /** Objects the store refused to delete (Object Lock): the old index stays beside the new. */
  notDeleted: Array<{ object: string; message: string }>;
}

export async function compactIndex(repo: Repository, options: CompactOptions = {}): Promise<CompactResult> {
  if (!usesTables(repo)) {
    throw new InvalidInputError('compact', `${repo.location} is a format version 1 store, without index tables; copy it into a new store to get them (docs/OPERATIONS.md)`);
  }
  return withLock(repo, { exclusive: true, operation: 'compact', signal: options.signal, warn: options.onWarning }, async (lock) => {
    const table = new BlobTable();
    const objects = await loadIndexObjects(repo, table);
    const result: CompactResult = { read: objects.files.size, written: 0, removed: 0, entries: table.size, notDeleted: [] };
    // The catalog too: one object for every snapshot (FORMAT.md §8.2).
    result.notDeleted.push(...await rewriteCatalog(repo, { fromFiles: true }));
    if (objects.files.size <= 1) return result;
    const { order, start } = table.byPack();
    function* packs(): Generator<IndexedPack> {
      for (let pn = 0; pn < table.packCount; pn++) {
        yield { id: table.packId(pn), blobs: Array.from(order.subarray(start[pn], start[pn + 1]), (e) => table.entry(e)) };
      }
    }
    result.written = (await writeIndex(repo, packs())).size;
    await lock?.confirm();
    result.removed = await deleteOldIndex(objects, async (path) => {
      lock?.assertFresh();
      try {
        await repo.backend.delete(path);
        return true;
      } catch (err) {
        if (!(err instanceof BackupError && err.code === 'S3_DELETE_DENIED')) throw err;
        result.notDeleted.push({ object: path, message: err.message });
        return false;
      }
    }, () => undefined);
    return result;
  });
}
