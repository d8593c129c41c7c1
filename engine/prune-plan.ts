/**
 * Prune's first half, which changes nothing: read every index file, mark every blob a snapshot
 * needs (map pages and the data chunks they list), and decide for each pack whether it is kept,
 * repacked or removed (FORMAT.md §12).
 */
import { idToHex } from './crypto/chunk-id';
import { BackupError } from './errors';
import { loadIndexObjects, orphanTableParts, type IndexObjects } from './index-rewrite';
import { ProgressReporter } from './progress';
import type { ObjectInfo } from './store/backend';
import { openBlob } from './store/blob-reader';
import { BlobTable } from './store/blob-table';
import { decodeMapPage } from './store/disk-map';
import { TMP_DIR } from './store/backend';
import { packPath } from './store/pack';
import type { Repository } from './store/repository';
import { summaryOf, type MapPageRef, type SnapshotSummary } from './store/snapshot';
import type { DamagedSnapshot } from './store/snapshot-file';
import { readSnapshotFiles } from './store/snapshots';

/** Prune will not run: the store already lacks data a snapshot needs, or an option is wrong. */
export class PruneRefusedError extends BackupError {
  constructor(location: string, why: string) {
    super('PRUNE_REFUSED', `prune of ${location} refused: ${why}`);
  }
}

export interface PlanOptions {
  /** Repack a partly used pack when at least this percentage of its blob bytes is unused (default 50). */
  repackThreshold: number;
  /** Packs written less than this long before `now` are never removed or repacked. */
  graceMs: number;
  now: number;
  progress: ProgressReporter;
  /** Go on when a manifest cannot be read: the data only it references is then removed. */
  ignoreDamagedSnapshots?: boolean;
  /** Told what prune does about each damaged manifest. */
  warnings: string[];
  /** Plan as if these snapshots were gone (`forget --prune --dry-run`: what the prune after it would do). */
  assumeRemoved?: ReadonlySet<string>;
}

export interface PrunePlan {
  table: BlobTable;
  /** Every index file and table read, with the packs each lists (pack numbers), and tables' parts. */
  index: IndexObjects;
  /** Every pack in the store at the start, by id. */
  stored: Map<string, ObjectInfo>;
  snapshots: number;
  /** The summary of every readable manifest, as read from its file: the catalog prune writes (FORMAT.md §8.2). */
  summaries: SnapshotSummary[];
  /** Manifests that could not be read (FORMAT.md §12.2 says what prune does about them). */
  damaged: DamagedSnapshot[];
  /** Indexed packs kept as they are. */
  keep: number[];
  /** Partly used packs whose used blobs move to new packs. */
  repack: number[];
  /** Indexed packs no snapshot needs. */
  remove: number[];
  /** Indexed packs missing from the store that no snapshot needs: left out of the new index. */
  dropMissing: number[];
  /** Unindexed packs older than the grace period (left by interrupted backups). */
  unindexedRemove: string[];
  /** Unindexed packs younger than the grace period, or of unknown age. */
  unindexedKeep: string[];
  /** Half-written objects of interrupted writes (`.tmp/` of a folder store) older than the grace period. */
  leftovers: string[];
  usedBlobs: number;
  usedBytes: number;
  /** Stored size of every pack. */
  totalBytes: number;
  /** Young packs that would otherwise have been removed or repacked. */
  youngKept: number;
}

/**
 * The disk maps prune must keep (FORMAT.md §12.2): every readable snapshot's, and the pages a
 * damaged manifest still lists when its bytes opened (an invalid manifest is exactly what a writer
 * stored, so its `map` names what it references). A manifest whose map cannot be read leaves prune
 * blind to what it needs: prune refuses, unless told to ignore such manifests.
 */
async function mapsToKeep(repo: Repository, options: PlanOptions): Promise<{ maps: Array<{ name: string; map: MapPageRef[] }>; summaries: SnapshotSummary[]; damaged: DamagedSnapshot[] }> {
  // Every manifest from its own file: the catalog holds no maps, and prune trusts nothing derived.
  const gone = options.assumeRemoved ?? new Set<string>();
  const reads = (await readSnapshotFiles(repo)).filter((r) => !gone.has(r.ok ? r.snapshot.id : r.damaged.id));
  const maps: Array<{ name: string; map: MapPageRef[] }> = [];
  const damaged: DamagedSnapshot[] = [];
  const blind: DamagedSnapshot[] = [];
  const summaries: SnapshotSummary[] = [];
  for (const r of reads) {
    if (r.ok) {
      maps.push({ name: `snapshot ${r.snapshot.id.slice(0, 12)}`, map: r.snapshot.map });
      summaries.push(summaryOf(r.snapshot));
      continue;
    }
    const d = r.damaged;
    damaged.push(d);
    if (r.map === undefined) {
      blind.push(d);
      continue;
    }
    maps.push({ name: `damaged snapshot ${d.id.slice(0, 12)}`, map: r.map });
    options.warnings.push(`${d.message}; prune keeps the ${r.map.length} map page(s) it lists and their chunks ("forget ${d.id.slice(0, 12)}" lets a later prune remove them)`);
  }
  damaged.sort((x, y) => x.id.localeCompare(y.id));
  if (blind.length > 0 && !options.ignoreDamagedSnapshots) {
    const names = blind.slice(0, 3).map((d) => `snapshots/${d.id}`).join(', ') + (blind.length > 3 ? ` and ${blind.length - 3} more` : '');
    throw new PruneRefusedError(repo.location, `${names} cannot be read, so prune cannot tell which data ${blind.length > 1 ? 'they need' : 'it needs'} ` +
      `(${blind[0].message}); remove ${blind.length > 1 ? 'each' : 'it'} deliberately with "scw-backup forget ID" (prune then removes the data only ` +
      `${blind.length > 1 ? 'they' : 'it'} referenced), or prune with --ignore-damaged-snapshots`);
  }
  for (const d of blind) options.warnings.push(`${d.message}; ignored as asked (--ignore-damaged-snapshots): data only it references is removed`);
  return { maps, summaries, damaged };
}

/** Mark the blobs every kept map needs. Refuses when one of them has no copy in a stored pack. */
async function mark(repo: Repository, table: BlobTable, stored: Map<string, ObjectInfo>, options: PlanOptions): Promise<{ summaries: SnapshotSummary[]; damaged: DamagedSnapshot[] }> {
  const usable = (pn: number): boolean => stored.has(table.packId(pn));
  const { maps, summaries, damaged } = await mapsToKeep(repo, options);
  const missing: string[] = [];
  let done = 0;
  for (const { name, map } of maps) {
    for (const page of map) {
      const pageId = Buffer.from(page.id, 'hex');
      const e = table.claim(pageId, usable);
      if (e === 'known') continue; // its chunks were marked with the page's first use
      if (e === 'missing') {
        missing.push(`${name} needs map page ${page.id} which no stored pack holds`);
        continue;
      }
      const packId = table.packId(table.packOf(e));
      const blob = table.entry(e);
      const sealed = await repo.backend.get(packPath(packId), { offset: blob.offset, length: blob.length });
      const payload = openBlob(repo, packId, blob, sealed);
      for (const extent of decodeMapPage(payload, `map page ${page.id.slice(0, 12)} of ${name}`, page.offset, page.length)) {
        if (extent.id && table.claim(extent.id, usable) === 'missing') {
          missing.push(`${name} needs chunk ${idToHex(extent.id)} (guest offset ${extent.offset}) which no stored pack holds`);
        }
      }
    }
    options.progress.report({ phase: 'mark', bytesDone: ++done, bytesTotal: maps.length, bytesNew: 0, bytesStored: 0 });
  }
  if (missing.length > 0) {
    throw new PruneRefusedError(repo.location, `the store is already missing data: ${missing[0]}` +
      (missing.length > 1 ? ` (and ${missing.length - 1} more)` : '') + '; run "scw-backup check" and repair before pruning');
  }
  return { summaries, damaged };
}

/**
 * A needed blob whose marked copy sits in a pack to repack, while another copy sits in a pack that
 * stays, uses the copy that stays (the one in the pack with the smallest id): it is not copied once
 * more, and the copies left after this prune are those the next prune's claims choose again, so a
 * second prune finds nothing to do whatever order it reads the index files in. Moving a mark only
 * empties a pack to repack further and fills one that stays: no decision flips but "repack" to
 * "remove" (the caller's).
 */
function preferStayingCopies(
  table: BlobTable, keep: readonly number[], candidates: Array<{ pn: number; unused: number }>,
  counts: { usedEntries: Uint32Array; usedBytes: Float64Array; blobBytes: Float64Array },
): void {
  if (candidates.length === 0) return;
  const stays = new Uint8Array(table.packCount);
  for (const pn of keep) stays[pn] = 1;
  const repacked = new Uint8Array(table.packCount);
  for (const c of candidates) repacked[c.pn] = 1;
  for (let e = 0; e < table.size; e++) {
    const pn = table.packOf(e);
    if (!repacked[pn] || !table.isUsed(e)) continue;
    const other = table.bestOtherCopy(e, (p) => stays[p] === 1);
    if (other < 0) continue;
    table.moveUse(e, other);
    const to = table.packOf(other);
    counts.usedEntries[pn]--;
    counts.usedBytes[pn] -= table.lengthOf(e);
    counts.usedEntries[to]++;
    counts.usedBytes[to] += table.lengthOf(other);
  }
  for (const c of candidates) c.unused = 1 - counts.usedBytes[c.pn] / counts.blobBytes[c.pn];
}

/** Read the store and decide what to do with every pack. Changes nothing. */
export async function planPrune(repo: Repository, options: PlanOptions): Promise<PrunePlan> {
  const stored = new Map<string, ObjectInfo>();
  for await (const obj of repo.backend.list('packs')) stored.set(obj.path.slice(obj.path.lastIndexOf('/') + 1), obj);
  const table = new BlobTable();
  const index = await loadIndexObjects(repo, table);
  const { summaries, damaged } = await mark(repo, table, stored, options);

  const packCount = table.packCount;
  const entries = new Uint32Array(packCount);
  const usedEntries = new Uint32Array(packCount);
  const blobBytes = new Float64Array(packCount);
  const usedBytes = new Float64Array(packCount);
  let usedBlobs = 0;
  let usedTotal = 0;
  for (let e = 0; e < table.size; e++) {
    const pn = table.packOf(e);
    entries[pn]++;
    blobBytes[pn] += table.lengthOf(e);
    if (table.isUsed(e)) {
      usedEntries[pn]++;
      usedBytes[pn] += table.lengthOf(e);
      usedBlobs++;
      usedTotal += table.lengthOf(e);
    }
  }

  const young = (info: Pick<ObjectInfo, 'modified'> | undefined): boolean => info?.modified !== undefined && info.modified.getTime() > options.now - options.graceMs;
  const plan: PrunePlan = {
    table, index, stored, snapshots: summaries.length, summaries, damaged, keep: [], repack: [], remove: [], dropMissing: [], unindexedRemove: [], unindexedKeep: [], leftovers: [],
    usedBlobs, usedBytes: usedTotal, totalBytes: 0, youngKept: 0,
  };
  const candidates: Array<{ pn: number; unused: number }> = [];
  for (let pn = 0; pn < packCount; pn++) {
    const info = stored.get(table.packId(pn));
    if (!info) plan.dropMissing.push(pn); // nothing in it is used: claims only pick stored packs
    else if (entries[pn] > 0 && usedEntries[pn] === entries[pn]) plan.keep.push(pn);
    else if (young(info)) {
      plan.keep.push(pn);
      plan.youngKept++;
    } else if (usedEntries[pn] === 0) plan.remove.push(pn);
    else {
      const unused = 1 - usedBytes[pn] / blobBytes[pn];
      if (unused * 100 >= options.repackThreshold) candidates.push({ pn, unused });
      else plan.keep.push(pn);
    }
  }
  preferStayingCopies(table, plan.keep, candidates, { usedEntries, usedBytes, blobBytes });
  for (const c of candidates.filter((x) => usedEntries[x.pn] === 0)) plan.remove.push(c.pn);
  const repack = candidates.filter((x) => usedEntries[x.pn] > 0);
  // The emptiest packs first: a repack budget (prune's --max-repack-size) takes them in this order.
  repack.sort((a, b) => b.unused - a.unused || a.pn - b.pn);
  plan.repack = repack.map((c) => c.pn);
  for (const [id, info] of stored) {
    plan.totalBytes += info.size;
    if (table.hasPack(id)) continue;
    // Unknown age counts as young: never remove what might be a writer's pack in flight.
    if (info.modified === undefined || young(info)) plan.unindexedKeep.push(id);
    else plan.unindexedRemove.push(id);
  }
  // A folder store writes each object under .tmp/ first (FsBackend.put); a process killed mid-write
  // leaves it there. Those older than the grace period belong to no live writer.
  for await (const obj of repo.backend.list(TMP_DIR)) {
    if (obj.modified !== undefined && !young(obj)) plan.leftovers.push(obj.path);
  }
  // Parts of index tables that no table names: an interrupted compaction wrote them.
  for (const part of await orphanTableParts(repo, index)) {
    if (part.modified !== undefined && !young(part)) plan.leftovers.push(part.path);
  }
  return plan;
}
