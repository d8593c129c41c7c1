/**
 * Read what the compliance report needs from a store, under a reader's lock: every snapshot and
 * drill record (damaged ones reported, never fatal), the packs and the index (sizes, unique data),
 * and what a prune would do now (a dry run). Then build the report (build.ts).
 */
import { BackupError } from '../errors';
import { pruneRepository } from '../prune';
import { BLOB_DATA } from '../store/blob';
import { storeNow } from '../store/backend';
import { listDrills } from '../store/drill-record';
import { withLock } from '../store/lock-scope';
import type { Repository } from '../store/repository';
import { listSnapshots } from '../store/snapshots';
import { buildReport } from './build';
import type { ComplianceReport, ExpectedSource, PruneForecast, SourcePolicy } from './types';

export interface ReportOptions {
  /** The report's time, epoch ms (default: the store's clock, as prune judges ages). */
  now?: number;
  /** Length of the period before `now`, ms (default 90 days). */
  periodMs?: number;
  /** Start of the period, epoch ms (instead of periodMs). */
  from?: number;
  /** Sources that must appear even without a backup, with their policy (a plan's sources). */
  expected?: ExpectedSource[];
  /** Policy by tags for sources the plan does not cover (e.g. by environment and data class). */
  defaultPolicy?: (tags: Record<string, string>) => SourcePolicy | undefined;
  /** Read without a lock (a read-only key or mount). */
  noLock?: boolean;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

export const DEFAULT_REPORT_PERIOD_MS = 90 * 86_400_000;

/** What prune would do now; a refusal (a manifest it cannot read) is a fact of the report, not its failure. */
async function forecastPrune(repo: Repository): Promise<PruneForecast> {
  try {
    const r = await pruneRepository(repo, { dryRun: true });
    return { ok: true, bytesRemoved: r.bytes.removed, packsRemoved: r.packs.removed + r.packs.unindexedRemoved, packsRepacked: r.packs.repacked, drillRecordsRemoved: r.drills.removed };
  } catch (err) {
    if (!(err instanceof BackupError) || err.code !== 'PRUNE_REFUSED') throw err;
    return { ok: false, bytesRemoved: 0, packsRemoved: 0, packsRepacked: 0, drillRecordsRemoved: 0, refused: err.message };
  }
}

export async function collectReport(repo: Repository, options: ReportOptions = {}): Promise<ComplianceReport> {
  return withLock(repo, { operation: 'report', reader: true, noLock: options.noLock, signal: options.signal, warn: options.onWarning }, async () => {
    const now = options.now ?? await storeNow(repo.backend);
    // Snapshots before the index: a backup finishing meanwhile has its index files in place (check.ts).
    // Every manifest read from its file: the report names each damaged one (a catalog listing would not).
    const snapshots = await listSnapshots(repo, {}, { fromFiles: true });
    const drills = await listDrills(repo);
    options.signal?.throwIfAborted();
    // Every entry, large index tables included (FORMAT.md §7.1): the distinct data is summed over all.
    await repo.loadIndex({ full: true });
    let uniqueBytes = 0;
    let uniqueStoredBytes = 0;
    for (let e = 0; e < repo.index.size; e++) {
      const b = repo.index.blobAt(e);
      if (b.type !== BLOB_DATA) continue;
      uniqueBytes += b.rawLength;
      uniqueStoredBytes += b.length;
    }
    let packs = 0;
    let packBytes = 0;
    for await (const obj of repo.backend.list('packs')) {
      packs++;
      packBytes += obj.size;
    }
    options.signal?.throwIfAborted();
    const prune = await forecastPrune(repo);
    return buildReport({
      now, from: options.from ?? now - (options.periodMs ?? DEFAULT_REPORT_PERIOD_MS),
      snapshots: snapshots.snapshots, damagedSnapshots: snapshots.damaged, drills: drills.drills, damagedDrills: drills.damaged,
      expected: options.expected, defaultPolicy: options.defaultPolicy,
      store: {
        location: repo.location, formatVersion: repo.config.version, packs, packBytes, uniqueBytes, uniqueStoredBytes,
        drills: drills.drills.length + drills.damaged.length, prune,
      },
    });
  });
}
