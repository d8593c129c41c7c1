/**
 * The snapshot catalog (FORMAT.md §8.2): sealed objects under `catalog/` that each hold the
 * summaries (manifests less their disk maps) of many snapshots, so that listing a store of thousands of snapshots reads a few objects instead
 * of one per snapshot. It is derived data: what it says of a snapshot counts only while the
 * snapshot's file is listed, a manifest it lacks is read from its own file, and a damaged catalog is
 * ignored. Forget, prune and compact rewrite it to cover every snapshot.
 */
import { AAD } from '../crypto/seal';
import { BackupError, DamagedObjectError, NotFoundError } from '../errors';
import type { Repository } from './repository';
import { validateSummary, type SnapshotSummary } from './snapshot';

export const CATALOG_DIR = 'catalog';

export interface CatalogRead {
  /** Summaries by id, for the ids asked about. */
  snapshots: Map<string, SnapshotSummary>;
  /** Catalog objects that could not be used, with the reason (never fatal: derived data). */
  damaged: Array<{ object: string; message: string }>;
}

export function hasCatalog(repo: Repository): boolean {
  return repo.config.version === 2;
}

/** The summaries the catalog holds for the ids in `listed` (snapshot files that exist now). */
export async function readCatalog(repo: Repository, listed: ReadonlySet<string>): Promise<CatalogRead> {
  const out: CatalogRead = { snapshots: new Map(), damaged: [] };
  if (!hasCatalog(repo)) return out;
  for await (const obj of repo.backend.list(CATALOG_DIR)) {
    try {
      const entries = JSON.parse((await repo.loadObject(obj.path, AAD.catalog)).toString('utf8')) as unknown;
      if (!Array.isArray(entries)) throw new DamagedObjectError(obj.path, 'is not a list of snapshot summaries');
      for (const e of entries as Array<{ id?: unknown }>) {
        const id = typeof e === 'object' && e !== null ? e.id : undefined;
        if (typeof id !== 'string' || !listed.has(id) || out.snapshots.has(id)) continue;
        const { id: _id, ...summary } = e as Record<string, unknown>;
        out.snapshots.set(id, { id, ...validateSummary(summary, `snapshots/${id} (in ${obj.path})`) });
      }
    } catch (err) {
      // Gone since the listing (another rewrite), or damaged: the manifests' own files are read instead.
      if (!(err instanceof BackupError)) throw err;
      if (!(err instanceof NotFoundError)) out.damaged.push({ object: obj.path, message: err.message });
    }
  }
  return out;
}

/**
 * Write a catalog holding these summaries, then delete the catalog objects `replaces` names. A
 * deletion the store refuses (Object Lock) leaves an object that only repeats entries: it is
 * returned in `notDeleted`, for the caller to report.
 */
export async function writeCatalog(repo: Repository, snapshots: readonly SnapshotSummary[], replaces: readonly string[]): Promise<{ path: string; notDeleted: Array<{ object: string; message: string }> }> {
  const path = `${CATALOG_DIR}/${await repo.saveObject(CATALOG_DIR, AAD.catalog, Buffer.from(JSON.stringify(snapshots), 'utf8'))}`;
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
