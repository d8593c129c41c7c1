import { createHash } from 'node:crypto';
import { idToHex } from './crypto/chunk-id';
import { BackupError, InvalidInputError } from './errors';
import { ProgressReporter, type ProgressCallback } from './progress';
import { openBlob } from './store/blob-reader';
import { packPath, parsePackHeader } from './store/pack';
import { usesTables } from './index-rewrite';
import type { BlobEntry } from './store/blob';
import { TableReader } from './store/index-table/table-reader';
import { SHARD_DIR, TABLE_DIR } from './store/index-table/table-writer';
import { listDrills } from './store/drill-record';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import { readListedSnapshotFile, type DamagedSnapshot, type SnapshotRead } from './store/snapshot-file';
import { hasCatalog, readCatalog } from './store/catalog';
import { summaryOf } from './store/snapshot';
import { readDiskMap } from './store/snapshots';

export interface CheckOptions {
  /** Read and verify pack contents: all packs (`true`), or a subset "n/m" or "p%". */
  readData?: boolean | string;
  onProgress?: ProgressCallback;
  /** Source of randomness for "p%" subsets (tests pass a seeded one). */
  random?: () => number;
  /** Check without locking the store (a read-only store; see lock-scope.ts). */
  noLock?: boolean;
  /** Stop at the next object (Ctrl-C). */
  signal?: AbortSignal;
}

export interface CheckProblem {
  /** The object concerned: `packs/ab/ab…`, `index/…`, `snapshots/…`. */
  object: string;
  message: string;
}

export interface CheckResult {
  ok: boolean;
  errors: CheckProblem[];
  warnings: CheckProblem[];
  /** Snapshot files listed, damaged ones included. */
  snapshots: number;
  /** The manifests that cannot be read (each is also one of `errors`). */
  damaged: DamagedSnapshot[];
  indexFiles: number;
  /** Drill records listed (FORMAT.md §13), damaged ones included (each of those is one of `errors`). */
  drills: number;
  packs: number;
  packsRead: number;
  blobsRead: number;
}

function problem(object: string, err: unknown): CheckProblem {
  if (err instanceof BackupError) return { object, message: err.message };
  throw err;
}

/** Parse "n/m" (1 ≤ n ≤ m) or "p%" (0 < p ≤ 100) into a pack selector. */
export function parseSubset(spec: string, random: () => number): (packId: string) => boolean {
  const frac = /^(\d+)\/(\d+)$/.exec(spec);
  if (frac) {
    const n = Number(frac[1]);
    const m = Number(frac[2]);
    if (m < 1 || m > 256 || n < 1 || n > m) throw new InvalidInputError('--read-data-subset', `"${spec}" needs 1 <= n <= m <= 256`);
    // Like restic: pack ids are uniformly distributed, so the first byte mod m splits them evenly.
    return (id) => parseInt(id.slice(0, 2), 16) % m === n - 1;
  }
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(spec);
  if (pct) {
    const p = Number(pct[1]);
    if (!(p > 0 && p <= 100)) throw new InvalidInputError('--read-data-subset', `"${spec}" needs a percentage in (0, 100]`);
    return () => random() * 100 < p;
  }
  throw new InvalidInputError('--read-data-subset', `"${spec}" is neither n/m (e.g. 1/5) nor a percentage (e.g. 10%)`);
}

/**
 * Check the repository's structure: every index file opens, every pack it names exists, every
 * snapshot opens and every chunk its disk map needs is indexed. With readData, also download packs
 * and verify their hash, header and every blob. Problems are collected, not thrown: the report names
 * every damaged object.
 */
export async function checkRepository(repo: Repository, options: CheckOptions = {}): Promise<CheckResult> {
  // Under a non-exclusive lock: a prune cannot remove packs while they are checked (FORMAT.md §9).
  const staleLocks: CheckProblem[] = [];
  const result = await withLock(repo, { operation: 'check', reader: true, noLock: options.noLock, signal: options.signal, warn: (m) => staleLocks.push({ object: 'locks/', message: m }) }, () => checkLocked(repo, options));
  result.warnings.push(...staleLocks);
  return result;
}

async function checkLocked(repo: Repository, options: CheckOptions): Promise<CheckResult> {
  const select = options.readData === undefined || options.readData === false ? undefined
    : options.readData === true ? () => true
    : parseSubset(options.readData, options.random ?? Math.random);
  const progress = new ProgressReporter(options.onProgress);
  const result: CheckResult = { ok: true, errors: [], warnings: [], snapshots: 0, damaged: [], indexFiles: 0, drills: 0, packs: 0, packsRead: 0, blobsRead: 0 };
  if (repo.config.version === 1) {
    result.warnings.push({
      object: 'config',
      message: 'the store is in format version 1: its encryption nears its limit after 2^32 objects (256 TiB of new 64 KiB chunks) and its config is not ' +
        'authenticated; copy it into a new store (docs/OPERATIONS.md, "Format versions")',
    });
  }

  // The catalog (FORMAT.md §8.2) is read first: a backup writes its manifest before its catalog
  // object, so what the catalog holds is listed below unless a forget removed it meanwhile. What is
  // wrong with the catalog is a warning (listings fall back to the files, or miss a snapshot until
  // a rewrite), which compact mends.
  const catalog = hasCatalog(repo) ? await readCatalog(repo) : undefined;
  for (const d of catalog?.damaged ?? []) result.warnings.push({ object: d.object, message: `${d.message}; listings read the manifests from their files ("compact" rewrites the catalog)` });
  // Snapshots are listed before the index is read: a backup writes its index files before its
  // snapshot, so every snapshot listed here has its index files in place by the time they are read,
  // even when backups finish while check runs.
  const snapshotPaths: string[] = [];
  for await (const obj of repo.backend.list('snapshots')) snapshotPaths.push(obj.path);
  if (catalog && catalog.objects.length > 0 && catalog.damaged.length === 0) {
    const listed = new Set(snapshotPaths.map((p) => p.slice('snapshots/'.length)));
    for (const id of catalog.snapshots.keys()) {
      if (!listed.has(id)) {
        result.warnings.push({ object: `snapshots/${id}`, message: `the catalog lists snapshots/${id}, which does not exist (a forget that stopped half-way, or a file removed by hand): listings show it until "compact" rewrites the catalog` });
      }
    }
    for (const id of listed) {
      if (!catalog.snapshots.has(id)) {
        result.warnings.push({ object: `snapshots/${id}`, message: `snapshots/${id} is in no catalog object (its backup or copy stopped before recording it, or one is finishing now): listings do not show it until "compact" rewrites the catalog` });
      }
    }
  }

  for await (const obj of repo.backend.list('index')) {
    result.indexFiles++;
    try {
      await repo.loadIndexFile(obj.path);
    } catch (err) {
      result.errors.push(problem(obj.path, err));
    }
  }
  // Index tables (FORMAT.md §7.1): read whole, every part checked against its name and every block
  // against its tag; parts no table names are an interrupted compaction's, which prune removes.
  const named = new Set<string>();
  if (usesTables(repo)) {
    for await (const obj of repo.backend.list(TABLE_DIR)) {
      result.indexFiles++;
      try {
        const table = await TableReader.open(repo, obj.path);
        for (const part of table.objects) named.add(part);
        const entries: Array<[string, BlobEntry]> = [];
        await table.readAll((packId, blob) => entries.push([packId, { ...blob, id: Buffer.from(blob.id) }]));
        for (const [packId, blob] of entries) repo.index.add(repo.index.packNumber(packId), blob);
      } catch (err) {
        result.errors.push(problem(obj.path, err));
      }
    }
    for await (const obj of repo.backend.list(SHARD_DIR)) {
      if (!named.has(obj.path)) result.warnings.push({ object: obj.path, message: `${obj.path} is part of no index table (left by an interrupted compaction; unused)` });
    }
  }

  const stored = new Map<string, number>();
  for await (const obj of repo.backend.list('packs')) stored.set(obj.path.slice(obj.path.lastIndexOf('/') + 1), obj.size);
  result.packs = stored.size;
  const indexed = new Set<string>();
  for (let n = 0; n < repo.index.packCount; n++) {
    const id = repo.index.packId(n);
    indexed.add(id);
    if (!stored.has(id)) result.errors.push({ object: packPath(id), message: `${packPath(id)} is listed in the index but missing from the store` });
  }
  for (const id of stored.keys()) {
    if (!indexed.has(id)) result.warnings.push({ object: packPath(id), message: `${packPath(id)} is not in any index (left by an interrupted backup; unused)` });
  }

  for (const path of snapshotPaths) {
    const obj = { path };
    let read: SnapshotRead | undefined;
    try {
      read = await readListedSnapshotFile(repo, obj.path.slice('snapshots/'.length));
    } catch (err) {
      result.snapshots++;
      result.errors.push(problem(obj.path, err));
      continue;
    }
    if (read === undefined) continue; // forgotten since it was listed
    result.snapshots++;
    if (!read.ok) {
      result.damaged.push(read.damaged);
      result.errors.push({ object: obj.path, message: read.damaged.message });
      continue;
    }
    const snapshot = read.snapshot;
    const summary = catalog?.snapshots.get(snapshot.id);
    if (summary && JSON.stringify(summary) !== JSON.stringify(summaryOf(snapshot))) {
      result.warnings.push({ object: obj.path, message: `the catalog's summary of ${obj.path} differs from the manifest ("compact" rewrites the catalog from the files)` });
    }
    try {
      let missing = 0;
      let first = '';
      for await (const page of readDiskMap(repo, snapshot)) {
        for (const e of page) {
          if (e.id && !repo.index.has(e.id)) {
            if (missing++ === 0) first = `${idToHex(e.id)} at guest offset ${e.offset}`;
          }
        }
      }
      if (missing > 0) result.errors.push({ object: obj.path, message: `${obj.path} needs ${missing} chunk(s) that no index lists, first ${first}` });
    } catch (err) {
      result.errors.push(problem(obj.path, err));
    }
  }

  const drills = await listDrills(repo);
  result.drills = drills.drills.length + drills.damaged.length;
  for (const d of drills.damaged) result.errors.push({ object: `drills/${d.id}`, message: d.message });

  // Unindexed packs are read too: after a damaged index file they may hold the only copy of data.
  if (select) await readPacks(repo, [...stored.keys()].filter((id) => select(id)), result, progress);
  result.ok = result.errors.length === 0;
  return result;
}

async function readPacks(repo: Repository, packs: string[], result: CheckResult, progress: ProgressReporter): Promise<void> {
  const byPack = new Map<string, number[]>();
  for (const id of packs) byPack.set(id, []);
  for (let e = 0; e < repo.index.size; e++) {
    const list = byPack.get(repo.index.packId(repo.index.packOf(e)));
    if (list) list.push(e);
  }
  let done = 0;
  for (const [id, entries] of byPack) {
    const path = packPath(id);
    try {
      const data = await repo.backend.get(path);
      const hash = createHash('sha256').update(data).digest('hex');
      if (hash !== id) {
        result.errors.push({ object: path, message: `${path} content hash is ${hash.slice(0, 16)}…, not its name: the pack was modified or truncated` });
        continue;
      }
      const header = parsePackHeader(data, path, repo.keys.sealer, repo.decompressor);
      const inHeader = new Set(header.map((b) => `${idToHex(b.id)}@${b.offset}`));
      for (const e of entries) {
        const { blob } = repo.index.entry(e);
        if (!inHeader.has(`${idToHex(blob.id)}@${blob.offset}`)) {
          result.errors.push({ object: path, message: `${path}: the index places blob ${idToHex(blob.id)} at ${blob.offset}, the pack header does not` });
        }
      }
      for (const blob of header) {
        try {
          openBlob(repo, id, blob, data.subarray(blob.offset, blob.offset + blob.length));
          result.blobsRead++;
        } catch (err) {
          result.errors.push(problem(path, err));
        }
      }
      result.packsRead++;
    } catch (err) {
      result.errors.push(problem(path, err));
    }
    progress.report({ phase: 'read-data', bytesDone: ++done, bytesTotal: byPack.size, bytesNew: 0, bytesStored: 0 });
  }
}
