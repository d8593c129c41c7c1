/**
 * A garbage collection on request, for the few places where we know a large allocation just became
 * garbage that V8 would otherwise keep for a long time (a worker's sealed output, the KDF's memory).
 * `--expose-gc` set after start-up exposes `gc` to new contexts; V8 documents such flags as best
 * effort, so `collectGarbage` may be undefined: then memory behaves as without it, nothing fails.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const exposed: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');

/** A full collection; `{ type: 'minor' }` collects the young generation only (well under a millisecond on a small heap). */
export const collectGarbage = typeof exposed === 'function' ? (exposed as (options?: { type: 'minor' }) => void) : undefined;
