/**
 * Prune: remove the data no snapshot needs. Under an exclusive lock, in an order that leaves a valid
 * store wherever it stops (FORMAT.md §12): new packs (repacked blobs) first, then a new complete
 * index, then the old index files are deleted, and only then the packs nothing lists any more.
 */
import { AAD } from './crypto/seal';
import { BackupError } from './errors';
import { deleteOldIndex, usesTables, writeIndex } from './index-rewrite';
import { planPrune, PruneRefusedError, type PrunePlan } from './prune-plan';
import { ProgressReporter, type ProgressCallback } from './progress';
import { storeNow } from './store/backend';
import type { BlobEntry } from './store/blob';
import { fetchPackRanges, openBlob } from './store/blob-reader';
import { decodeIndex, type IndexedPack } from './store/index-file';
import { describeLock, isStale, listLocks, Lock } from './store/locks';
import { PackBuilder, packPath } from './store/pack';
import type { Repository } from './store/repository';
import { orphanDrills } from './store/drill-record';
import { rewriteCatalog } from './store/snapshots';
import type { DamagedSnapshot } from './store/snapshot-file';
import { sealedBound } from './pipeline/chunk-ops';

export { PruneRefusedError } from './prune-plan';

export const DEFAULT_REPACK_THRESHOLD = 50;
export const DEFAULT_PRUNE_GRACE_MS = 60 * 60 * 1000;

export interface PruneOptions {
  /** Only report what would be done. Takes no lock (and says which locks a real prune would meet). */
  dryRun?: boolean;
  /** Repack a partly used pack when at least this percentage of its blob bytes is unused (0-100, default 50). */
  repackThreshold?: number;
  /** Cap on the stored bytes of packs repacked in one run: bytes, or a percentage of the store's pack bytes. */
  maxRepack?: { bytes: number } | { percent: number };
  /** Packs younger than this are neither removed nor repacked (default 1 hour; FORMAT.md §12). */
  graceMs?: number;
  /** Stop at the next safe point (Ctrl-C): between two deletions, or before anything is removed. */
  signal?: AbortSignal;
  /**
   * Prune although some manifest cannot be read (FORMAT.md §12.2): the data only it references is
   * removed. Without this, such a manifest makes prune refuse (PRUNE_REFUSED) until it is forgotten.
   */
  ignoreDamagedSnapshots?: boolean;
  /**
   * With dryRun: plan as if these snapshots were already gone (what `forget --prune --dry-run` shows:
   * the prune that would follow the forget).
   */
  assumeRemoved?: readonly string[];
  /** The store's clock, epoch ms (tests; default: Backend.now(), FORMAT.md §12.2). */
  now?: () => number;
  onProgress?: ProgressCallback;
}

export interface PruneResult {
  dryRun: boolean;
  /** Readable snapshots. */
  snapshots: number;
  /** Manifests that could not be read; `warnings` says what prune did about each. */
  damaged: DamagedSnapshot[];
  blobs: { total: number; used: number };
  /** What the plan decided for each pack; `notDeleted` lists the removals the store refused. */
  packs: { total: number; kept: number; repacked: number; removed: number; missingDropped: number; unindexedRemoved: number; unindexedKept: number; youngKept: number; written: number };
  /** Temporary files of interrupted writes (a folder store's `.tmp/`) older than the grace period: removed (or, in a dry run, to remove). */
  leftovers: number;
  /** `removed`: stored bytes of the packs deleted (planned ones in a dry run); `written`: of new packs. */
  bytes: { total: number; used: number; removed: number; written: number };
  indexFiles: { read: number; written: number; removed: number };
  /** Drill records (FORMAT.md §13): `removed` name a snapshot that is gone (to remove, in a dry run); `damaged` are kept. */
  drills: { total: number; removed: number; damaged: number };
  /** Objects the store refused to delete (Object Lock retention, missing permission): nothing was lost. */
  notDeleted: Array<{ object: string; message: string }>;
  warnings: string[];
  durationMs: number;
}

const isDeleteDenied = (err: unknown): err is BackupError => err instanceof BackupError && err.code === 'S3_DELETE_DENIED';

/**
 * Remove unused data. Refuses (RepositoryLockedError) while another process holds a non-stale
 * lock, and (PruneRefusedError) when a snapshot already lacks data. The Repository's in-memory
 * index, if it was loaded before, describes packs that may be gone afterwards: open the
 * repository again before backing up through it.
 */
export async function pruneRepository(repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  const started = Date.now();
  const progress = new ProgressReporter(options.onProgress);
  const threshold = options.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 100)) throw new PruneRefusedError(repo.location, `repack threshold ${threshold} is not a percentage between 0 and 100`);
  const warnings: string[] = [];
  let lock: Lock | undefined;
  if (options.dryRun) {
    const storeTime = await storeNow(repo.backend);
    for (const l of await listLocks(repo)) {
      if (!isStale(l, { now: storeTime })) warnings.push(`a real prune would be refused now: the repository is locked by ${describeLock(l)}`);
    }
  } else {
    lock = await Lock.take(repo, true, { operation: 'prune', signal: options.signal, onStale: (l) => warnings.push(`ignored stale ${describeLock(l)}`) });
  }
  try {
    // Ages (the grace period) are measured on the store's clock, as the objects' times are.
    const plan = await planPrune(repo, {
      repackThreshold: threshold,
      graceMs: options.graceMs ?? DEFAULT_PRUNE_GRACE_MS,
      now: options.now ? options.now() : await storeNow(repo.backend),
      progress,
      ignoreDamagedSnapshots: options.ignoreDamagedSnapshots,
      warnings,
      assumeRemoved: options.dryRun && options.assumeRemoved ? new Set(options.assumeRemoved) : undefined,
    });
    applyRepackBudget(plan, options.maxRepack);
    const drills = await orphanDrills(repo, options.dryRun && options.assumeRemoved ? new Set(options.assumeRemoved) : undefined);
    for (const d of drills.damaged) warnings.push(`${d.message}; prune keeps it (it cannot tell which snapshot it names); delete drills/${d.id} by hand once you know what it was`);
    const result = summarize(plan, !!options.dryRun, warnings);
    result.drills = { total: drills.total, removed: drills.remove.length, damaged: drills.damaged.length };
    for (const pn of plan.dropMissing) warnings.push(`${packPath(plan.table.packId(pn))} is listed in the index but missing from the store; no snapshot needs it, so the new index leaves it out`);
    if (plan.unindexedKeep.length > 0) warnings.push(`${plan.unindexedKeep.length} unindexed pack(s) are younger than the grace period (or of unknown age) and were kept`);
    if (!options.dryRun && lock) {
      await execute(repo, plan, lock, result, progress, drills.remove);
      await lock.confirm();
      // The catalog from the manifests prune just read (FORMAT.md §8.2): no one else writes meanwhile.
      result.notDeleted.push(...await rewriteCatalog(repo, { summaries: plan.summaries }));
    }
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    if (lock) {
      await lock.release().catch((err: unknown) => {
        warnings.push(`could not remove our lock: ${err instanceof Error ? err.message : String(err)}; it goes stale in 30 minutes`);
      });
    }
  }
}

/** Apply --max-repack: the emptiest packs stay first in line; the rest are kept as they are. */
function applyRepackBudget(plan: PrunePlan, max: PruneOptions['maxRepack']): void {
  if (!max) return;
  let budget = 'bytes' in max ? max.bytes : (plan.totalBytes * max.percent) / 100;
  const chosen: number[] = [];
  for (const pn of plan.repack) {
    const size = plan.stored.get(plan.table.packId(pn))?.size ?? 0;
    if (size <= budget) {
      chosen.push(pn);
      budget -= size;
    } else plan.keep.push(pn);
  }
  plan.repack = chosen;
}

function summarize(plan: PrunePlan, dryRun: boolean, warnings: string[]): PruneResult {
  const sizeOf = (id: string): number => plan.stored.get(id)?.size ?? 0;
  const removedBytes = [...plan.remove, ...plan.repack].reduce((n, pn) => n + sizeOf(plan.table.packId(pn)), 0) +
    plan.unindexedRemove.reduce((n, id) => n + sizeOf(id), 0);
  return {
    dryRun,
    snapshots: plan.snapshots,
    damaged: plan.damaged,
    blobs: { total: plan.table.size, used: plan.usedBlobs },
    packs: {
      total: plan.stored.size, kept: plan.keep.length, repacked: plan.repack.length, removed: plan.remove.length,
      missingDropped: plan.dropMissing.length, unindexedRemoved: plan.unindexedRemove.length, unindexedKept: plan.unindexedKeep.length,
      youngKept: plan.youngKept, written: 0,
    },
    bytes: { total: plan.totalBytes, used: plan.usedBytes, removed: removedBytes, written: 0 },
    indexFiles: { read: plan.index.files.size, written: 0, removed: 0 },
    drills: { total: 0, removed: 0, damaged: 0 },
    leftovers: plan.leftovers.length,
    notDeleted: [],
    warnings,
    durationMs: 0,
  };
}

async function execute(repo: Repository, plan: PrunePlan, lock: Lock, result: PruneResult, progress: ProgressReporter, drills: readonly string[]): Promise<void> {
  // A new index when packs go, and, in a store with index tables, whenever the index is in more than
  // one piece: prune keeps it compact (FORMAT.md §7.1).
  const rewrite = plan.remove.length + plan.repack.length + plan.dropMissing.length > 0 || (usesTables(repo) && plan.index.files.size > 1);
  const { order, start } = plan.table.byPack();
  const entriesOf = (pn: number): number[] => Array.from(order.subarray(start[pn], start[pn + 1]));

  // 1. Used blobs of the packs to repack go into new packs (unindexed until step 2).
  const newPacks = await repack(repo, plan, entriesOf, progress, lock);
  result.packs.written = newPacks.length;
  result.bytes.written = newPacks.reduce((n, p) => n + p.size, 0);

  // 2. A complete new index: kept packs with all their entries, and the new packs.
  function* packs(): Generator<IndexedPack> {
    for (const pn of plan.keep) yield { id: plan.table.packId(pn), blobs: entriesOf(pn).map((e) => plan.table.entry(e)) };
    yield* newPacks;
  }
  const written = rewrite ? await writeIndex(repo, packs()) : new Set<string>();
  result.indexFiles.written = written.size;

  // 3. Index files that appeared while we worked (a writer whose lock went stale): their packs stay.
  const protectedPacks = new Set<string>();
  for await (const obj of repo.backend.list('index')) {
    if (plan.index.files.has(obj.path) || written.has(obj.path)) continue;
    result.warnings.push(`${obj.path} appeared during prune; the packs it lists are kept`);
    decodeIndex(await repo.loadObject(obj.path, AAD.index), obj.path, (packId) => protectedPacks.add(packId));
  }

  // 4. Nothing is removed unless our lock is still fresh: otherwise a writer may have ignored it.
  await lock.confirm();
  let deleted = 0;
  const total = (rewrite ? plan.index.files.size : 0) + plan.remove.length + plan.repack.length + plan.unindexedRemove.length + drills.length + plan.leftovers.length;
  const remove = async (path: string): Promise<boolean> => {
    lock.assertFresh();
    try {
      await repo.backend.delete(path);
      progress.report({ phase: 'delete', bytesDone: ++deleted, bytesTotal: total, bytesNew: 0, bytesStored: result.bytes.written });
      return true;
    } catch (err) {
      // Refused (Object Lock, permissions): report and go on, keeping whatever it would leave dangling.
      // Anything else (the store is unreachable) stops prune; the store is valid at every step.
      if (!isDeleteDenied(err)) throw err;
      result.notDeleted.push({ object: path, message: err.message });
      return false;
    }
  };
  // 5. The old index files and tables. One that stays must not point at packs we remove.
  if (rewrite) {
    result.indexFiles.removed = await deleteOldIndex(plan.index, remove, (pns) => {
      for (const pn of pns) protectedPacks.add(plan.table.packId(pn));
    });
  }

  // 6. Packs that no index lists any more.
  const doomed = [
    ...(rewrite ? [...plan.remove, ...plan.repack].map((pn) => plan.table.packId(pn)) : []),
    ...plan.unindexedRemove,
  ];
  result.bytes.removed = 0;
  for (const id of doomed) {
    if (protectedPacks.has(id)) continue;
    if (await remove(packPath(id))) result.bytes.removed += plan.stored.get(id)?.size ?? 0;
  }
  // 7. Drill records of snapshots that are gone (they follow their snapshots, FORMAT.md §13).
  result.drills.removed = 0;
  for (const path of drills) if (await remove(path)) result.drills.removed++;
  // 8. Temporary files that interrupted writes left behind.
  for (const path of plan.leftovers) await remove(path);
  if (result.notDeleted.length > 0) {
    result.warnings.push(`${result.notDeleted.length} object(s) could not be deleted (first: ${result.notDeleted[0].object}); nothing was lost, prune again once they can be deleted`);
  }
}

/** Copy the used blobs of the packs to repack into new packs, verifying each (no re-encryption: a sealed blob is bound to its id, not its place). */
async function repack(repo: Repository, plan: PrunePlan, entriesOf: (pn: number) => number[], progress: ProgressReporter, lock: Lock): Promise<Array<IndexedPack & { size: number }>> {
  const out: Array<IndexedPack & { size: number }> = [];
  if (plan.repack.length === 0) return out;
  const c = repo.config.chunker;
  const slack = sealedBound(c.kind === 'fixed' ? c.size : c.max) + 64 * 1024;
  let builder = new PackBuilder(Buffer.allocUnsafe(repo.config.packSize + slack));
  const flush = async (): Promise<void> => {
    if (builder.count === 0) return;
    const pack = builder.finish(repo.keys.sealer, repo.compressor);
    await repo.backend.put(packPath(pack.id), pack.data);
    out.push({ id: pack.id, blobs: pack.blobs, size: pack.data.length });
    builder = new PackBuilder(builder.buffer);
  };
  let read = 0;
  const total = plan.repack.reduce((n, pn) => n + (plan.stored.get(plan.table.packId(pn))?.size ?? 0), 0);
  for (const pn of plan.repack) {
    // New packs written so far stay unindexed if prune stops here: the next prune removes them.
    lock.assertFresh();
    const packId = plan.table.packId(pn);
    const used: BlobEntry[] = entriesOf(pn).filter((e) => plan.table.isUsed(e)).map((e) => {
      const b = plan.table.entry(e);
      return { ...b, id: Buffer.from(b.id) };
    });
    for await (const range of fetchPackRanges(repo, packId, used)) {
      read += range.bytes.length;
      for (const b of range.blobs) {
        const sealed = range.bytes.subarray(b.offset - range.start, b.offset - range.start + b.length);
        openBlob(repo, packId, b, sealed); // damaged data is never copied: prune stops here
        builder.add(b.type, b.id, sealed, b.rawLength);
        if (builder.size >= repo.config.packSize) await flush();
      }
      progress.report({ phase: 'repack', bytesDone: read, bytesTotal: total, bytesNew: 0, bytesStored: 0 });
    }
  }
  await flush();
  return out;
}
