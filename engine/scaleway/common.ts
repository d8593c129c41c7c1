/** Pieces shared by the Block backup and restore flows: staging keys, cleanup reports, progress, tags. */
import { InterruptedError, InvalidInputError } from '../errors';
import { ProgressReporter, type ProgressCallback } from '../progress';
import { ScalewayApiError, ScalewayResourceNotFoundError } from './errors';
import { callScaleway } from './wait';

/** Every Scaleway resource we create carries this tag. */
export const TAG = 'scw-backup';
/** ...and this one while it is temporary: a later run removes such resources once they are stale. */
export const STAGING_TAG = 'scw-backup:staging';
export const DEFAULT_STAGING_PREFIX = 'scw-backup';
/** Staging leftovers older than this are taken for those of a run that died (docs/SCALEWAY.md, "Leftovers"). */
export const DEFAULT_STALE_AFTER_MS = 3600_000;

export interface CleanupReport {
  /** What was removed: `snapshot <id>`, `s3://bucket/key`. */
  removed: string[];
  /** What could not be removed, with why: never swallowed. */
  failed: Array<{ what: string; error: string }>;
}

export function newCleanupReport(): CleanupReport {
  return { removed: [], failed: [] };
}

/** Run one cleanup step: success goes to `removed`, failure to `failed` and onWarning. */
export async function cleanupStep(report: CleanupReport, what: string, fn: () => Promise<void>, onWarning?: (msg: string) => void): Promise<boolean> {
  try {
    await fn();
    report.removed.push(what);
    return true;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    report.failed.push({ what, error });
    onWarning?.(`could not remove ${what}: ${error}`);
    return false;
  }
}

/** Add `more` to a report (a flow's own cleanup after that of a sub-flow it ran). */
export function mergeCleanup(into: CleanupReport, more: CleanupReport | undefined): CleanupReport {
  if (more) {
    into.removed.push(...more.removed);
    into.failed.push(...more.failed);
  }
  return into;
}

/**
 * What a flow stopped by its signal throws once it has cleaned up: an InterruptedError saying what
 * was removed and what was left (with what a sub-flow already reported), or the signal's reason as
 * it is when that is not an interruption.
 */
export function interruptedWith(signal: AbortSignal, err: unknown, cleanup: CleanupReport): unknown {
  const reason: unknown = signal.reason;
  if (!(reason instanceof InterruptedError)) return reason ?? err;
  const earlier = err instanceof InterruptedError ? err.cleanup : undefined;
  return new InterruptedError(reason.signal, mergeCleanup(mergeCleanup(newCleanupReport(), earlier), cleanup));
}

export function checkPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  if (p === '' || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidInputError('staging prefix', `${JSON.stringify(prefix)} is not a usable key prefix (e.g. scw-backup)`);
  }
  return p;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkId(id: string, input: string): string {
  if (!UUID_RE.test(id)) throw new InvalidInputError(input, `${JSON.stringify(id)} is not a Scaleway id (a UUID)`);
  return id;
}

/** `2026-11-25T14-03-07Z`: sortable, and legal in resource names and object keys. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Run an API call; a 404 becomes ScalewayResourceNotFoundError naming the resource and zone. */
export async function callOrNotFound<T>(resource: string, id: string, zone: string, operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await callScaleway(operation, fn);
  } catch (err) {
    if (err instanceof ScalewayApiError && err.status === 404) throw new ScalewayResourceNotFoundError(resource, id, zone, { cause: err });
    throw err;
  }
}

/** Phase-tagged progress for a flow; byte counters stay 0 outside the phases that move bytes. */
export class FlowProgress {
  private readonly reporter: ProgressReporter;
  constructor(callback: ProgressCallback | undefined) {
    this.reporter = new ProgressReporter(callback);
  }

  phase(phase: string, bytesTotal?: number): void {
    this.reporter.report({ phase, bytesDone: 0, bytesTotal, bytesNew: 0, bytesStored: 0 }, true);
  }

  bytes(phase: string, bytesDone: number, bytesTotal?: number, bytesNew = 0, bytesStored = 0, force = false): void {
    this.reporter.report({ phase, bytesDone, bytesTotal, bytesNew, bytesStored }, force);
  }
}
