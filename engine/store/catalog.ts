/**
 * The snapshot catalog (FORMAT.md §8.2): sealed objects under `catalog/`, each holding the summaries
 * (manifests less their disk maps) of some snapshots and naming the catalog objects it replaces.
 * Every manifest written adds one (saveSnapshot); forget, prune and compact merge them into one. In a
 * version 2 store, listings read the catalog instead of listing and reading `snapshots/`: a few
 * objects instead of one per snapshot.
 */
import { AAD } from '../crypto/seal';
import { BackupError, DamagedObjectError, NotFoundError } from '../errors';
import type { Repository } from './repository';
import { validateSummary, type SnapshotSummary } from './snapshot';

export const CATALOG_DIR = 'catalog';
/** Catalog objects read at once. */
const READS_IN_FLIGHT = 16;
/** Listings of `catalog/` tried when objects vanish under a reader (each vanishing means a rewrite finished). */
const READ_ATTEMPTS = 5;

export interface CatalogRead {
  /** The summaries of the live objects (those no other object replaces), by snapshot id. */
  snapshots: Map<string, SnapshotSummary>;
  /** Every object listed, live or replaced: what a rewrite replaces. */
  objects: string[];
  /** Objects that could not be used, with the reason: what they held is unknown. */
  damaged: Array<{ object: string; message: string }>;
}

export function hasCatalog(repo: Repository): boolean {
  return repo.config.version === 2;
}

const NAME = /^[0-9a-f]{64}$/;

function decode(payload: Buffer, path: string): { replaces: string[]; snapshots: SnapshotSummary[] } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new DamagedObjectError(path, 'is not JSON', { cause: err });
  }
  const o = json as { replaces?: unknown; snapshots?: unknown };
  if (typeof json !== 'object' || json === null || !Array.isArray(o.replaces) || !Array.isArray(o.snapshots)) {
    throw new DamagedObjectError(path, 'is not a catalog object ({"replaces": [...], "snapshots": [...]})');
  }
  const replaces = o.replaces as unknown[];
  if (!replaces.every((r): r is string => typeof r === 'string' && NAME.test(r))) throw new DamagedObjectError(path, '"replaces" names something that is not a catalog object');
  const snapshots = (o.snapshots as unknown[]).map((e, i) => {
    const { id, ...summary } = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    if (typeof id !== 'string' || !NAME.test(id)) throw new DamagedObjectError(path, `entry ${i} has no snapshot id`);
    return { id, ...validateSummary(summary, `snapshots/${id} (in ${path})`) };
  });
  return { replaces, snapshots };
}

type ObjectRead = { path: string; replaces: string[]; snapshots: SnapshotSummary[] } | { path: string; damaged: string } | { path: string; gone: true };

async function readObjects(repo: Repository, paths: string[]): Promise<ObjectRead[]> {
  const queue = [...paths];
  const out: ObjectRead[] = [];
  const worker = async (): Promise<void> => {
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      try {
        out.push({ path, ...decode(await repo.loadObject(path, AAD.catalog), path) });
      } catch (err) {
        if (err instanceof NotFoundError) out.push({ path, gone: true });
        else if (err instanceof BackupError) out.push({ path, damaged: err.message });
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, queue.length) }, worker));
  return out;
}

/**
 * Every catalog object, read and checked; the summaries of those no other object replaces. An object
 * that vanishes between the listing and its read was replaced by a rewrite that finished meanwhile:
 * the listing is taken again, so no reader misses what the new object holds.
 */
export async function readCatalog(repo: Repository): Promise<CatalogRead> {
  const out: CatalogRead = { snapshots: new Map(), objects: [], damaged: [] };
  if (!hasCatalog(repo)) return out;
  for (let attempt = 1; ; attempt++) {
    const paths: string[] = [];
    for await (const obj of repo.backend.list(CATALOG_DIR)) paths.push(obj.path);
    const reads = await readObjects(repo, paths);
    if (reads.some((r) => 'gone' in r) && attempt < READ_ATTEMPTS) continue;
    const replaced = new Set<string>();
    for (const r of reads) if ('replaces' in r) for (const name of r.replaces) replaced.add(`${CATALOG_DIR}/${name}`);
    out.objects = paths;
    for (const r of reads) {
      if (replaced.has(r.path)) continue;
      if ('damaged' in r) out.damaged.push({ object: r.path, message: r.damaged });
      else if ('gone' in r) out.damaged.push({ object: r.path, message: `${r.path} vanished while it was read, ${READ_ATTEMPTS} times (rewrites keep replacing the catalog)` });
      else for (const s of r.snapshots) if (!out.snapshots.has(s.id)) out.snapshots.set(s.id, s);
    }
    out.damaged.sort((a, b) => a.object.localeCompare(b.object));
    return out;
  }
}

/** Store one catalog object holding `snapshots` that replaces the objects `replaces` names (paths); returns its path. */
export async function writeCatalogObject(repo: Repository, snapshots: readonly SnapshotSummary[], replaces: readonly string[]): Promise<string> {
  const payload = { replaces: replaces.map((p) => p.slice(CATALOG_DIR.length + 1)), snapshots };
  return `${CATALOG_DIR}/${await repo.saveObject(CATALOG_DIR, AAD.catalog, Buffer.from(JSON.stringify(payload), 'utf8'))}`;
}

/**
 * Write a catalog object holding these summaries and replacing the objects `replaces` names, then
 * delete those. A deletion the store refuses (Object Lock) leaves an object readers skip (it is
 * replaced): it is returned in `notDeleted`, for the caller to report.
 */
export async function writeCatalog(repo: Repository, snapshots: readonly SnapshotSummary[], replaces: readonly string[]): Promise<{ path: string; notDeleted: Array<{ object: string; message: string }> }> {
  const path = await writeCatalogObject(repo, snapshots, replaces);
  const notDeleted: Array<{ object: string; message: string }> = [];
  for (const old of replaces) {
    if (old === path) continue;
    try {
      await repo.backend.delete(old);
    } catch (err) {
      if (!(err instanceof BackupError && err.code === 'S3_DELETE_DENIED')) throw err;
      notDeleted.push({ object: old, message: err.message });
    }
  }
  return { path, notDeleted };
}
