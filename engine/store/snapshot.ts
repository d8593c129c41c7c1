import { z } from '../schema';
import { DamagedObjectError } from '../errors';
import { normalizedSummary, summaryProblem } from './summary-check';

/** How a snapshot's disk was cut (FORMAT.md §2, §5). */
export type SnapshotChunker = { kind: 'fixed'; size: number } | { kind: 'fastcdc'; min: number; avg: number; max: number };

/** What a backup did (FORMAT.md §8). */
export interface SnapshotStats {
  bytesRead: number;
  bytesNew: number;
  bytesStored: number;
  chunks: number;
  newChunks: number;
  holeBytes: number;
  durationMs: number;
}

/** One entry of a manifest's `map`: a map page and the guest range it covers. */
export interface MapPageRef {
  offset: number;
  length: number;
  id: string;
}

/**
 * A snapshot manifest (FORMAT.md §8). Declared as plain types (the schema below checks them) so that
 * the package's type declarations never expose zod's: a program compiled without esModuleInterop or
 * skipLibCheck (Pulumi's default tsconfig) could not load those.
 */
export interface SnapshotManifest {
  version: 1;
  time: string;
  hostname: string;
  username: string;
  source: { format: string; location: string; [key: string]: string | number | boolean };
  tags: Record<string, string>;
  size: number;
  chunker: SnapshotChunker;
  map: MapPageRef[];
  stats: SnapshotStats;
}

const chunkerSchema = z.union([
  z.object({ kind: z.literal('fixed'), size: z.number().finite() }),
  z.object({ kind: z.literal('fastcdc'), min: z.number().finite(), avg: z.number().finite(), max: z.number().finite() }),
]);

const manifestObject = z.object({
  version: z.literal(1),
  time: z.string(),
  hostname: z.string(),
  username: z.string(),
  source: z.object({ format: z.string(), location: z.string() }).catchall(z.union([z.string(), z.number().finite(), z.boolean()])),
  tags: z.record(z.string(), z.string()),
  // int() takes safe integers only (zod 4): at most 2^53 - 1, MAX_DISK_BYTES in source/disk-source.ts.
  size: z.number().int().safe().nonnegative(),
  chunker: chunkerSchema,
  map: z.array(z.object({ offset: z.number().int().safe().nonnegative(), length: z.number().int().safe().positive(), id: z.string().regex(/^[0-9a-f]{64}$/) })),
  stats: z.object({
    bytesRead: z.number().finite(),
    bytesNew: z.number().finite(),
    bytesStored: z.number().finite(),
    chunks: z.number().finite(),
    newChunks: z.number().finite(),
    holeBytes: z.number().finite(),
    durationMs: z.number().finite(),
  }),
});
const snapshotSchema: z.ZodType<SnapshotManifest> = manifestObject;
const summarySchema: z.ZodType<SnapshotSummaryManifest> = manifestObject.omit({ map: true });

/** A manifest with its id (the hex name of its file). */
export interface Snapshot extends SnapshotManifest {
  id: string;
}

/** A manifest without its disk map: what the catalog holds (FORMAT.md §8.2). */
export type SnapshotSummaryManifest = Omit<SnapshotManifest, 'map'>;

/**
 * A snapshot as listings return it: everything but the disk map, which grows with the disk (one
 * page per GiB) and which only a command that reads the disk needs (findSnapshot, loadSnapshot).
 */
export interface SnapshotSummary extends SnapshotSummaryManifest {
  id: string;
}

export function summaryOf(s: Snapshot): SnapshotSummary {
  const { map: _map, ...summary } = s;
  return summary;
}

/** A catalog entry's summary, checked as a manifest is (less the map), by hand: summary-check.ts. */
export function validateSummary(json: unknown, name: string): SnapshotSummaryManifest {
  const problem = summaryProblem(json);
  if (problem !== undefined) throw new DamagedObjectError(name, `snapshot summary is invalid: ${problem}`);
  return normalizedSummary(json as Record<string, unknown>);
}

/** What the zod schema makes of a summary, or undefined if it refuses it (summary-check.test.ts holds the hand check to it). */
export function parseSummaryWithSchema(json: unknown): SnapshotSummaryManifest | undefined {
  const parsed = summarySchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** A manifest's payload as JSON (not yet validated). */
export function snapshotJson(payload: Buffer, name: string): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new DamagedObjectError(name, 'snapshot is not JSON', { cause: err });
  }
}

export function parseSnapshot(payload: Buffer, name: string): SnapshotManifest {
  return validateManifest(snapshotJson(payload, name), name);
}

/**
 * What every reader checks of a manifest (FORMAT.md §8): the schema, and a disk map whose pages
 * cover [0, size) in order. Writers check the same before saving (snapshots.ts, saveSnapshot).
 */
export function validateManifest(json: unknown, name: string): SnapshotManifest {
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) throw new DamagedObjectError(name, `snapshot is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const s = parsed.data;
  let expected = 0;
  for (const page of s.map) {
    if (page.offset !== expected) throw new DamagedObjectError(name, `disk map page at ${page.offset} does not follow on from ${expected}`);
    expected += page.length;
  }
  if (expected !== s.size) throw new DamagedObjectError(name, `disk map covers ${expected} bytes of a ${s.size}-byte disk`);
  return s;
}

/**
 * The `map` of a manifest that fails validation, when it still reads as map pages one after the
 * other from offset 0 (a 64-hex id and a positive length each), whatever the rest of the manifest
 * says; undefined otherwise. Prune keeps these pages rather than lose what such a manifest
 * references (FORMAT.md §12.2).
 */
export function lenientMap(json: unknown): MapPageRef[] | undefined {
  const map = typeof json === 'object' && json !== null ? (json as { map?: unknown }).map : undefined;
  if (!Array.isArray(map)) return undefined;
  const pages: MapPageRef[] = [];
  let end = 0;
  for (const p of map as unknown[]) {
    const { offset, length, id } = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) return undefined;
    if (offset !== end || typeof length !== 'number' || !(length > 0)) return undefined;
    pages.push({ offset, length, id });
    end += length;
  }
  return pages;
}
