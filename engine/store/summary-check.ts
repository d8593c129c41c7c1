/**
 * Checking a catalog entry (FORMAT.md §8.2) by hand: the same rules as the manifest schema of
 * snapshot.ts less the map, written out because a listing checks every entry and a store may hold
 * tens of thousands. Zod took ~0.36 s for 20,000 summaries in a fresh process (its first use of a
 * schema is slow); these checks take a few milliseconds. test/engine/store/summary-check.test.ts
 * holds both to the same verdicts.
 */
import type { SnapshotSummaryManifest } from './snapshot';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const STATS = ['bytesRead', 'bytesNew', 'bytesStored', 'chunks', 'newChunks', 'holeBytes', 'durationMs'] as const;

/** Why `json` is not a valid summary, or undefined when it is. */
export function summaryProblem(json: unknown): string | undefined {
  if (!isObject(json)) return 'not an object';
  if (json.version !== 1) return 'version: must be 1';
  for (const k of ['time', 'hostname', 'username'] as const) if (typeof json[k] !== 'string') return `${k}: must be a string`;
  const source = json.source;
  if (!isObject(source)) return 'source: must be an object';
  if (typeof source.format !== 'string' || typeof source.location !== 'string') return 'source: format and location must be strings';
  for (const [k, v] of Object.entries(source)) {
    if (typeof v !== 'string' && typeof v !== 'boolean' && !isNumber(v)) return `source.${k}: must be a string, number or boolean`;
  }
  if (!isObject(json.tags) || !Object.values(json.tags).every((v) => typeof v === 'string')) return 'tags: must map strings to strings';
  if (!Number.isSafeInteger(json.size) || (json.size as number) < 0) return 'size: must be a whole number ≥ 0';
  const c = json.chunker;
  const chunkerOk = isObject(c) && (c.kind === 'fixed' ? isNumber(c.size) : c.kind === 'fastcdc' && isNumber(c.min) && isNumber(c.avg) && isNumber(c.max));
  if (!chunkerOk) return 'chunker: must be {kind: "fixed", size} or {kind: "fastcdc", min, avg, max}';
  const stats = json.stats;
  if (!isObject(stats)) return 'stats: must be an object';
  for (const k of STATS) if (!isNumber(stats[k])) return `stats.${k}: must be a number`;
  return undefined;
}

/**
 * The summary with exactly the fields of the schema, in its order (unknown fields dropped, as zod
 * drops them): summaries are compared field by field as JSON (snapshots.ts, check.ts).
 */
export function normalizedSummary(json: Json): SnapshotSummaryManifest {
  const { source, chunker, stats } = json as unknown as SnapshotSummaryManifest;
  const { format, location, ...more } = source;
  return {
    version: 1,
    time: json.time as string,
    hostname: json.hostname as string,
    username: json.username as string,
    source: { format, location, ...more },
    tags: { ...(json.tags as Record<string, string>) },
    size: json.size as number,
    chunker: chunker.kind === 'fixed' ? { kind: 'fixed', size: chunker.size } : { kind: 'fastcdc', min: chunker.min, avg: chunker.avg, max: chunker.max },
    stats: {
      bytesRead: stats.bytesRead, bytesNew: stats.bytesNew, bytesStored: stats.bytesStored, chunks: stats.chunks,
      newChunks: stats.newChunks, holeBytes: stats.holeBytes, durationMs: stats.durationMs,
    },
  };
}
