/**
 * Reading one snapshot file, verified (FORMAT.md §10): its bytes must hash to its name (§1), open
 * (GCM tag, §4) and hold a valid manifest (§8). A file that fails is returned as damaged, with the
 * reason, instead of thrown: listings report it by name and carry on, so one bad manifest never takes
 * the store down.
 */
import { AAD } from '../crypto/seal';
import { DamagedObjectError, NotFoundError } from '../errors';
import type { Repository } from './repository';
import { lenientMap, snapshotJson, validateManifest, type MapPageRef, type Snapshot } from './snapshot';

/** A manifest that cannot be used, as listings and command summaries report it. */
export interface DamagedSnapshot {
  /** Its file name, the id it should have. */
  id: string;
  /**
   * `unreadable`: the file is not what was stored under its name (its bytes do not hash to it, its
   * tag fails) or not a manifest at all, so what it referenced is unknown. `invalid`: its bytes are
   * exactly what a writer stored, but the manifest fails validation.
   */
  kind: 'unreadable' | 'invalid';
  /** Why, naming `snapshots/<id>`. */
  message: string;
}

export type SnapshotRead =
  | { ok: true; snapshot: Snapshot }
  | {
      ok: false;
      damaged: DamagedSnapshot;
      error: DamagedObjectError;
      /** An `invalid` manifest's map pages, when its `map` still reads as such (lenientMap). */
      map?: MapPageRef[];
    };

/** Read and verify `snapshots/<id>`. Throws only what is not damage (the store unreachable, the file gone). */
export async function readSnapshotFile(repo: Repository, id: string): Promise<SnapshotRead> {
  const path = `snapshots/${id}`;
  let json: unknown;
  try {
    // loadObject checks that the stored bytes hash to the name: another file's bytes under this name
    // (a swapped or restored file) decrypt fine, and would pass for this snapshot without it.
    json = snapshotJson(await repo.loadObject(path, AAD.snapshot), path);
  } catch (err) {
    if (!(err instanceof DamagedObjectError)) throw err;
    return { ok: false, damaged: { id, kind: 'unreadable', message: err.message }, error: err };
  }
  try {
    return { ok: true, snapshot: { id, ...validateManifest(json, path) } };
  } catch (err) {
    if (!(err instanceof DamagedObjectError)) throw err;
    return { ok: false, damaged: { id, kind: 'invalid', message: err.message }, error: err, map: lenientMap(json) };
  }
}

/** readSnapshotFile for a file listed a moment ago: undefined when it is gone since (a concurrent forget). */
export async function readListedSnapshotFile(repo: Repository, id: string): Promise<SnapshotRead | undefined> {
  try {
    return await readSnapshotFile(repo, id);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
