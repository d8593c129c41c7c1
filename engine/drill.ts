/**
 * Restore drills: restore a snapshot to a scratch target, compare every byte of what was restored
 * with the snapshot, remove the scratch target, and store what happened as a drill record
 * (FORMAT.md §13) — passed with its measured RTO, or failed with its error. `drillToFile` does it with
 * a scratch file (any source); scaleway/drill-volume.ts with a scratch Block volume.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elapsedSince, instant, systemClock, type Clock } from './clock';
import { BackupError, InterruptedError, InvalidInputError } from './errors';
import type { ProgressCallback } from './progress';
import { restoreImage } from './restore';
import { isInstanceGroup } from './scaleway/instance-group';
import { RawFileSource } from './source/raw-file';
import { saveDrillRecord, type DrillRecord } from './store/drill-record';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import type { Snapshot } from './store/snapshot';
import { currentHost } from './store/snapshots';
import { compareWithSnapshot, type DiskComparison } from './verify-disk';

export interface DrillOptions {
  /** Times the drill (started, RTO, finished); tests inject one. Locks keep their own clock. */
  clock?: Clock;
  /** Stop at the next safe point (Ctrl-C): the scratch target is removed and no record is written. */
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Things worth telling that do not fail the drill (a scratch target that could not be removed). */
  onWarning?: (message: string) => void;
}

export interface DrillResult {
  /** The record's id (`drills/<id>`). */
  id: string;
  record: DrillRecord;
  /** Data chunks compared (0 when the drill failed before the comparison). */
  chunks: number;
}

/** The restored bytes differ from the snapshot's: the restore path is broken somewhere. */
export class DrillMismatchError extends BackupError {
  constructor(snapshot: string, mismatches: DiskComparison['mismatches']) {
    const shown = mismatches.slice(0, 5).map((m) => `${m.offset}+${m.length}`).join(', ');
    super('DRILL_MISMATCH', `the restore of snapshot ${snapshot.slice(0, 12)} differs from the snapshot at ${shown}${mismatches.length > 5 ? ', ...' : ''}; ` +
      'run "scw-backup check --read-data" and look at the restore target\'s storage');
  }
}

/** What a drill does, by target: restore, compare, and (always) remove what it created. */
export interface DrillSteps {
  /** Restore to the scratch target and compare it with the snapshot; the target is usable once this resolves. */
  restoreAndVerify(): Promise<DiskComparison>;
  /** Remove the scratch target, whatever happened (a failure here is a warning: the drill's result stands). */
  cleanup(): Promise<void>;
}

/** A disk snapshot that a drill can restore, or a typed refusal naming it. */
export function checkDrillable(snapshot: Snapshot): void {
  if (isInstanceGroup(snapshot)) {
    throw new InvalidInputError(`snapshot ${snapshot.id.slice(0, 12)}`, 'is the group of an Instance backup: drill each of its volume snapshots ("scw-backup snapshots" lists them)');
  }
}

/**
 * Run a drill's steps and record the outcome. Any failure of the restore or the comparison is the
 * drill's result (recorded, returned with result `failed`); an interruption records nothing and is
 * thrown. The record is written under a lock, and only while the snapshot is still in the store.
 */
export async function runDrill(repo: Repository, snapshot: Snapshot, target: string, steps: DrillSteps, options: DrillOptions = {}): Promise<DrillResult> {
  checkDrillable(snapshot);
  const clock = options.clock ?? systemClock;
  const start = instant(clock);
  let rtoSeconds: number | null = null;
  let bytesVerified = 0;
  let chunks = 0;
  let error: DrillRecord['error'];
  try {
    const compared = await steps.restoreAndVerify();
    bytesVerified = compared.bytesCompared;
    chunks = compared.chunks;
    if (compared.mismatches.length > 0) throw new DrillMismatchError(snapshot.id, compared.mismatches);
    rtoSeconds = elapsedSince(clock, start) / 1000;
  } catch (err) {
    if (err instanceof InterruptedError || options.signal?.aborted) {
      await cleanupWarning(steps, options);
      throw err;
    }
    bytesVerified = 0;
    error = { code: err instanceof BackupError ? err.code : 'UNEXPECTED', message: err instanceof Error ? err.message : String(err) };
  }
  await cleanupWarning(steps, options);
  const host = currentHost();
  const record: DrillRecord = {
    version: 1,
    snapshot: snapshot.id,
    snapshotTime: snapshot.time,
    source: { location: snapshot.source.location, hostname: snapshot.hostname },
    target,
    started: new Date(start.wall).toISOString(),
    finished: new Date(clock.wall()).toISOString(),
    rtoSeconds,
    bytesVerified,
    result: error ? 'failed' : 'passed',
    ...(error ? { error } : {}),
    hostname: host.hostname,
    username: host.username,
  };
  // A commit like a manifest (FORMAT.md §9): our lock must hold, and the snapshot must still be there.
  const id = await withLock(repo, { operation: 'drill', snapshot, signal: options.signal, warn: options.onWarning }, async (lock) => {
    await lock?.confirm();
    return saveDrillRecord(repo, record);
  });
  return { id, record, chunks };
}

async function cleanupWarning(steps: DrillSteps, options: DrillOptions): Promise<void> {
  await steps.cleanup().catch((err: unknown) => {
    options.onWarning?.(`could not remove the drill's scratch target: ${err instanceof Error ? err.message : String(err)}; remove it by hand`);
  });
}

export interface FileDrillOptions extends DrillOptions {
  /** Folder of the scratch file (default the system's temporary folder); it needs room for the disk's data. */
  scratchDir?: string;
  /** Worker threads of the restore (default one per core). */
  workers?: number;
}

/**
 * Drill to a scratch file: restore the snapshot as a sparse raw file, read it back and compare every
 * byte with the snapshot (the restore verified each chunk as it wrote it; this proves what landed on
 * disk), then delete it. RTO: from the start to the end of the comparison.
 */
export function drillToFile(repo: Repository, snapshot: Snapshot, options: FileDrillOptions = {}): Promise<DrillResult> {
  const path = join(options.scratchDir ?? tmpdir(), `scw-backup-drill-${snapshot.id.slice(0, 12)}-${randomBytes(4).toString('hex')}.raw`);
  return runDrill(repo, snapshot, 'file', {
    async restoreAndVerify() {
      await restoreImage(repo, snapshot, path, { onProgress: options.onProgress, onWarning: options.onWarning, signal: options.signal, workers: options.workers });
      const disk = await RawFileSource.open(path);
      try {
        return await compareWithSnapshot(repo, snapshot, disk, { signal: options.signal });
      } finally {
        await disk.close();
      }
    },
    cleanup: () => rm(path, { force: true }),
  }, options);
}
