/**
 * Drill records (FORMAT.md §13): what each restore drill proved, kept in the store beside the
 * snapshots they name. Sealed like snapshots, named by the SHA-256 of their bytes, and verified on
 * read the same way; a record that fails is reported by name and skipped, so one damaged record never
 * takes a listing down.
 */
import { z } from '../schema';
import { AAD } from '../crypto/seal';
import { DamagedObjectError, InvalidInputError, NotFoundError } from '../errors';
import type { Repository } from './repository';

export const DRILLS_DIR = 'drills';

/**
 * One drill, as stored. Declared as plain types (the schema below checks them), like SnapshotManifest,
 * so the package's declarations never expose zod's.
 */
export interface DrillRecord {
  version: 1;
  /** The id of the snapshot restored. */
  snapshot: string;
  /** That snapshot's time, so a report can tell how old the drilled backup was. */
  snapshotTime: string;
  /** What the snapshot is of: its `source.location` and host name. */
  source: { location: string; hostname: string };
  /** Where it was restored: `file` (a scratch file), `scaleway-block` (a scratch volume); readers accept others. */
  target: string;
  started: string;
  finished: string;
  /** Seconds from `started` to a verified, usable restore; null when the drill failed. */
  rtoSeconds: number | null;
  /** Guest bytes compared with the snapshot (the whole disk when it passed). */
  bytesVerified: number;
  result: 'passed' | 'failed';
  /** Why it failed (only then). */
  error?: { code: string; message: string };
  /** Who ran it. */
  hostname: string;
  username: string;
}

/** A record with its id (the hex name of its file). */
export interface Drill extends DrillRecord {
  id: string;
}

/** A record that cannot be used, as listings report it. */
export interface DamagedDrill {
  id: string;
  /** Why, naming `drills/<id>`. */
  message: string;
}

const drillSchema: z.ZodType<DrillRecord> = z.object({
  version: z.literal(1),
  snapshot: z.string().regex(/^[0-9a-f]{64}$/),
  snapshotTime: z.string(),
  source: z.object({ location: z.string(), hostname: z.string() }),
  target: z.string().min(1),
  started: z.string(),
  finished: z.string(),
  rtoSeconds: z.number().finite().nonnegative().nullable(),
  bytesVerified: z.number().int().safe().nonnegative(),
  result: z.enum(['passed', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  hostname: z.string(),
  username: z.string(),
}).refine((r) => (r.result === 'failed') === (r.error !== undefined), { message: 'a failed drill has an error, a passed one none', path: ['error'] });

function validateDrill(json: unknown, name: string): DrillRecord {
  const parsed = drillSchema.safeParse(json);
  if (!parsed.success) throw new DamagedObjectError(name, `drill record is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Store a record; returns its id. Checked first as readers will check it: one they would refuse is never written. */
export async function saveDrillRecord(repo: Repository, record: DrillRecord): Promise<string> {
  const what = `drill record of snapshot ${String(record.snapshot).slice(0, 12)}`;
  try {
    validateDrill(record, what);
  } catch (err) {
    if (!(err instanceof DamagedObjectError)) throw err;
    throw new InvalidInputError(what, `not saved: ${err.detail}`);
  }
  return repo.saveObject(DRILLS_DIR, AAD.drill, Buffer.from(JSON.stringify(record), 'utf8'));
}

export type DrillRead = { ok: true; drill: Drill } | { ok: false; damaged: DamagedDrill };

/** Read and verify `drills/<id>`: its hash, its tag, its fields. Throws only what is not damage. */
export async function readDrillFile(repo: Repository, id: string): Promise<DrillRead> {
  const path = `${DRILLS_DIR}/${id}`;
  try {
    const payload = await repo.loadObject(path, AAD.drill);
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      throw new DamagedObjectError(path, 'drill record is not JSON', { cause: err });
    }
    return { ok: true, drill: { id, ...validateDrill(json, path) } };
  } catch (err) {
    if (!(err instanceof DamagedObjectError)) throw err;
    return { ok: false, damaged: { id, message: err.message } };
  }
}

export interface DrillFilter {
  /** Only drills of these sources (`source.location`). */
  sources?: readonly string[];
}

export interface DrillListing {
  /** Every readable record (of the sources asked for), oldest start first. */
  drills: Drill[];
  damaged: DamagedDrill[];
}

/** Every drill record; a file gone between the listing and the read (a prune) is left out. */
export async function listDrills(repo: Repository, filter: DrillFilter = {}): Promise<DrillListing> {
  const out: DrillListing = { drills: [], damaged: [] };
  for await (const obj of repo.backend.list(DRILLS_DIR)) {
    const id = obj.path.slice(DRILLS_DIR.length + 1);
    let r: DrillRead;
    try {
      r = await readDrillFile(repo, id);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    if (!r.ok) out.damaged.push(r.damaged);
    else if (filter.sources === undefined || filter.sources.includes(r.drill.source.location)) out.drills.push(r.drill);
  }
  out.drills.sort((a, b) => a.started.localeCompare(b.started) || a.id.localeCompare(b.id));
  out.damaged.sort((a, b) => a.id.localeCompare(b.id));
  return out;
}

/**
 * The records prune removes (FORMAT.md §13): those naming a snapshot whose file is gone. A record
 * that cannot be read names no snapshot we can trust: it is kept, and reported.
 */
export async function orphanDrills(repo: Repository, gone: ReadonlySet<string> = new Set()): Promise<{ total: number; remove: string[]; damaged: DamagedDrill[] }> {
  const snapshots = new Set<string>();
  for await (const obj of repo.backend.list('snapshots')) snapshots.add(obj.path.slice('snapshots/'.length));
  const { drills, damaged } = await listDrills(repo);
  const remove = drills.filter((d) => !snapshots.has(d.snapshot) || gone.has(d.snapshot)).map((d) => `${DRILLS_DIR}/${d.id}`);
  return { total: drills.length + damaged.length, remove, damaged };
}
