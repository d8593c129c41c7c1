/**
 * Polling a Scaleway resource until it leaves a transient status, with exponential backoff and an
 * overall timeout sized for the slowest operation we start (the export of a 1 TB snapshot takes
 * hours). Not the SDK waiters: their 300 s default is far too short and their delays are whole
 * seconds, which tests cannot afford. Clock and sleep are injectable. A wait, and the backoff of a
 * retried call, ends at once when its AbortSignal fires (SIGINT, SIGTERM), with the signal's reason.
 */
import { abortableSleep } from '../abort';
import { withRetry } from '../store/backends/retry';
import { ResourceFailedError, WaitTimeoutError, isTransientScalewayError, translateScalewayError } from './errors';

export interface WaitOptions {
  /** First delay between polls (default 2 s). */
  minDelayMs?: number;
  /** Delays double up to this (default 60 s). */
  maxDelayMs?: number;
  /** Give up after this long (default 6 h: a 1 TB export at ~50 MB/s plus queueing). */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Ends the wait with the signal's reason as soon as it fires. */
  signal?: AbortSignal;
}

export const DEFAULT_WAIT = { minDelayMs: 2_000, maxDelayMs: 60_000, timeoutMs: 6 * 3600_000 } as const;

/** Timeouts per phase of a flow; each falls back to `default`, then to DEFAULT_WAIT. */
export interface FlowTimeouts {
  default?: WaitOptions;
  snapshot?: WaitOptions;
  export?: WaitOptions;
  import?: WaitOptions;
  volume?: WaitOptions;
  /** A server stopping or starting around a volume swap. */
  server?: WaitOptions;
  /**
   * Cleanup: a snapshot or volume in a transient state (an export the run was stopped in) is waited
   * for this long before it is removed; default 2 minutes, then it is reported as left behind.
   */
  cleanup?: WaitOptions;
}

export const DEFAULT_CLEANUP_WAIT = { timeoutMs: 120_000, maxDelayMs: 5_000 } as const;

/**
 * The wait of one phase; `signal` (the flow's) cuts it short. Cleanup waits take none, and only
 * `cleanup` sets how long they last (`default`'s timeout is sized for exports, hours).
 */
export function phaseWait(t: FlowTimeouts | undefined, phase: Exclude<keyof FlowTimeouts, 'default'>, signal?: AbortSignal): WaitOptions {
  if (phase === 'cleanup') return { ...t?.default, ...DEFAULT_CLEANUP_WAIT, ...t?.cleanup };
  return { ...t?.default, ...t?.[phase], ...(signal ? { signal } : {}) };
}

export interface WaitSpec<T> {
  /** 'snapshot', 'volume', ... for messages. */
  resource: string;
  id: string;
  /** What we wait for, for messages ("available"). */
  wanted: string;
  fetch: () => Promise<T>;
  status: (t: T) => string;
  /** Statuses that end the wait successfully. */
  done: readonly string[];
  /** Instead of `done`: every status but these ends the wait (waiting out a transient state). */
  pending?: readonly string[];
  /** Statuses that end it with an error (default: 'error'). */
  failed?: readonly string[];
  /** The error for a failed status (default ResourceFailedError). */
  onFailed?: (status: string) => Error;
}

/**
 * Poll until `status` is one of `done`. A failed status throws onFailed(status); running out of
 * time throws WaitTimeoutError with the last status seen. A poll that fails transiently (5xx, 429,
 * a reset) is retried within the same wait; any other error ends it.
 */
export async function waitForStatus<T>(spec: WaitSpec<T>, options: WaitOptions = {}): Promise<T> {
  const minDelay = Math.max(1, options.minDelayMs ?? DEFAULT_WAIT.minDelayMs);
  const maxDelay = Math.max(minDelay, options.maxDelayMs ?? DEFAULT_WAIT.maxDelayMs);
  const timeout = options.timeoutMs ?? DEFAULT_WAIT.timeoutMs;
  const signal = options.signal;
  const sleep = async (ms: number): Promise<void> => {
    await (options.sleep ? options.sleep(ms) : abortableSleep(ms, signal));
    signal?.throwIfAborted();
  };
  const now = options.now ?? Date.now;
  const failed = spec.failed ?? ['error'];
  const start = now();
  let delay = minDelay;
  let last = 'unknown';
  for (;;) {
    signal?.throwIfAborted();
    const got = await withRetry(() => spec.fetch(), {
      isRetryable: (err) => !signal?.aborted && isTransientScalewayError(err), baseDelayMs: minDelay, maxDelayMs: maxDelay, sleep, now,
      budgetMs: Math.max(0, timeout - (now() - start)),
    }).catch((err: unknown) => {
      throw translateScalewayError(err, `read ${spec.resource} ${spec.id}`);
    });
    last = spec.status(got);
    if (spec.pending ? !spec.pending.includes(last) : spec.done.includes(last)) return got;
    if (failed.includes(last)) {
      throw spec.onFailed ? spec.onFailed(last) : new ResourceFailedError(spec.resource, spec.id, last, `waiting for ${spec.wanted}`);
    }
    const elapsed = now() - start;
    if (elapsed >= timeout) throw new WaitTimeoutError(spec.resource, spec.id, last, elapsed, spec.wanted);
    await sleep(Math.min(delay, timeout - elapsed));
    delay = Math.min(maxDelay, delay * 2);
  }
}

/**
 * One API call, retried on 5xx/429/resets, its failure translated to a typed error. With `signal`,
 * no call starts once it fired and a backoff ends at once (the call in flight is short and is left
 * to finish: its result may be something to clean up).
 */
export async function callScaleway<T>(
  operation: string, fn: () => Promise<T>,
  options: { sleep?: (ms: number) => Promise<void>; maxAttempts?: number; baseDelayMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const signal = options.signal;
  signal?.throwIfAborted();
  try {
    return await withRetry(() => fn(), {
      isRetryable: (err) => !signal?.aborted && isTransientScalewayError(err), maxAttempts: options.maxAttempts ?? 5, baseDelayMs: options.baseDelayMs ?? 500, maxDelayMs: 20_000,
      sleep: options.sleep ?? ((ms) => abortableSleep(ms, signal)),
    });
  } catch (err) {
    if (signal?.aborted && err === signal.reason) throw err;
    const inner = err instanceof Error && err.name === 'RetriesExhaustedError' ? (err as Error & { cause?: unknown }).cause : err;
    throw translateScalewayError(inner, operation);
  }
}
