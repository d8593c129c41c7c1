/**
 * Replacing the store's index with a compact one (FORMAT.md §7.1, §12.2): read every index file and
 * table into one BlobTable, write the new index (one table in a store with the `index-tables`
 * feature, else index files of at most 65,536 blobs), then delete what was read. Prune does it when
 * it removes data, `compact` whenever the index is in more than one piece. Both hold the exclusive
 * lock; the order (new index written before the old is deleted) keeps the store valid at every step.
 */
import { createHash } from 'node:crypto';
import { AAD } from './crypto/seal';
import type { BlobTable } from './store/blob-table';
import { INDEX_TABLES } from './store/config';
import { decodeIndex, encodeIndex, type IndexedPack } from './store/index-file';
import { TableReader } from './store/index-table/table-reader';
import { SHARD_DIR, TABLE_DIR, TableBuilder } from './store/index-table/table-writer';
import type { Repository } from './store/repository';
import { sealObject } from './store/sealed-object';

/** Index files list at most about this many blobs (~3 MiB of index payload each). */
const BLOBS_PER_INDEX_FILE = 65536;

/** What was read: each index file and table with the packs it lists; each table's other objects. */
export interface IndexObjects {
  /** Path (`index/…` or `index-tables/…`) → pack numbers in the BlobTable. */
  files: Map<string, number[]>;
  /** Table manifest path → the shard and pack-list objects it is made of. */
  tableParts: Map<string, string[]>;
}

export function usesTables(repo: Repository): boolean {
  return repo.config.version === 2 && repo.config.features.includes(INDEX_TABLES);
}

/**
 * Load every index file and table, keeping all entries, duplicates included. A pack listed by several
 * of them (an interrupted prune's new index beside the old one) has the same blobs in each: they are
 * taken from the first only.
 */
export async function loadIndexObjects(repo: Repository, table: BlobTable): Promise<IndexObjects> {
  const objects: IndexObjects = { files: new Map(), tableParts: new Map() };
  const owner = new Map<number, string>();
  const visitor = (path: string, packsHere: Set<number>) => (packId: string, blob: Parameters<BlobTable['add']>[1]): void => {
    const pn = table.packNumber(packId);
    packsHere.add(pn);
    const first = owner.get(pn);
    if (first === undefined) owner.set(pn, path);
    else if (first !== path) return;
    table.add(pn, blob);
  };
  for await (const obj of repo.backend.list('index')) {
    const packsHere = new Set<number>();
    decodeIndex(await repo.loadObject(obj.path, AAD.index), obj.path, visitor(obj.path, packsHere));
    objects.files.set(obj.path, [...packsHere]);
  }
  if (usesTables(repo)) {
    for await (const obj of repo.backend.list(TABLE_DIR)) {
      const reader = await TableReader.open(repo, obj.path);
      const packsHere = new Set<number>();
      await reader.readAll(visitor(obj.path, packsHere));
      objects.files.set(obj.path, [...packsHere]);
      objects.tableParts.set(obj.path, reader.objects);
    }
  }
  return objects;
}

/** Write the new index holding these packs; returns the paths that make it (and that readers list). */
export async function writeIndex(repo: Repository, packs: Iterable<IndexedPack>): Promise<Set<string>> {
  const written = new Set<string>();
  if (usesTables(repo)) {
    const builder = new TableBuilder();
    for (const p of packs) for (const b of p.blobs) builder.add(p.id, b);
    written.add((await builder.write(repo)).path);
    return written;
  }
  let batch: IndexedPack[] = [];
  let blobs = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const sealed = sealObject(repo.keys.sealer, AAD.index, encodeIndex(batch), repo.compressor);
    const path = `index/${createHash('sha256').update(sealed).digest('hex')}`;
    await repo.backend.put(path, sealed);
    written.add(path);
    batch = [];
    blobs = 0;
  };
  // Pack by pack, so that only one index file's entries are ever held as objects.
  for (const p of packs) {
    batch.push(p);
    blobs += p.blobs.length;
    if (blobs >= BLOBS_PER_INDEX_FILE) await flush();
  }
  await flush();
  return written;
}

/**
 * Delete the index that was read, once the new one is in place: each index file, each table's
 * manifest and then its parts. What the store refuses to delete (Object Lock) stays, and the packs
 * it lists are handed to `keep` so that nothing it lists is removed. Returns how many were removed.
 */
export async function deleteOldIndex(objects: IndexObjects, remove: (path: string) => Promise<boolean>, keep: (packNumbers: number[]) => void): Promise<number> {
  let removed = 0;
  for (const [path, packs] of objects.files) {
    if (!(await remove(path))) {
      keep(packs);
      continue;
    }
    removed++;
    // A table's parts go once nothing names them (a refused part is only an unreferenced object).
    for (const part of objects.tableParts.get(path) ?? []) await remove(part);
  }
  return removed;
}

/** Parts of tables (`index-shards/`) that no table names: an interrupted compaction's. */
export async function orphanTableParts(repo: Repository, objects: IndexObjects): Promise<Array<{ path: string; modified?: Date }>> {
  if (!usesTables(repo)) return [];
  const named = new Set([...objects.tableParts.values()].flat());
  const out: Array<{ path: string; modified?: Date }> = [];
  for await (const obj of repo.backend.list(SHARD_DIR)) if (!named.has(obj.path)) out.push({ path: obj.path, modified: obj.modified });
  return out;
}
