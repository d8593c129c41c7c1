/**
 * Retries with exponential backoff and full jitter, for storage requests that may fail transiently
 * (a 5xx, a throttling answer, a reset connection, a timeout). Generic on purpose: the caller says
 * which errors are worth another attempt; clock and sleep are injectable so tests run in no time.
 */

export interface RetryOptions {
  /** Total attempts, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff cap before jitter for the first retry, doubled each retry (default 200 ms). */
  baseDelayMs?: number;
  /** Upper bound of one backoff before jitter (default 20 s). */
  maxDelayMs?: number;
  /** Give up instead of sleeping past this many milliseconds since the first attempt (default: none). */
  budgetMs?: number;
  /** Is this failure worth another attempt? (default: isTransientError) */
  isRetryable?: (err: unknown) => boolean;
  /** Called before each backoff sleep: for progress lines and tests, never with request bodies. */
  onRetry?: (info: RetryInfo) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** In [0, 1); Math.random by default. */
  random?: () => number;
}

export interface RetryInfo {
  /** The attempt that failed, 1-based. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Thrown by withRetry when every attempt failed with a retryable error; `cause` is the last one. */
export class RetriesExhaustedError extends Error {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describeError(cause)}`, { cause });
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
  }
}

export const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 20_000 } as const;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * "Full jitter" (AWS architecture blog, Exponential Backoff And Jitter): a uniform delay in
 * [0, min(max, base * 2^retry)), which spreads the retries of many clients hit by the same outage.
 */
export function backoffDelay(retry: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * cap);
}

/**
 * Run `op` until it succeeds, fails with a non-retryable error (rethrown as is) or runs out of
 * attempts or budget (RetriesExhaustedError wrapping the last error). `op` gets the 1-based attempt
 * number so it can tell a first try from a retry.
 */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_RETRY.maxAttempts);
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const isRetryable = options.isRetryable ?? isTransientError;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const start = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= maxAttempts) throw new RetriesExhaustedError(attempt, err);
      const delayMs = backoffDelay(attempt - 1, baseDelayMs, maxDelayMs, random);
      if (options.budgetMs !== undefined && now() - start + delayMs > options.budgetMs) {
        throw new RetriesExhaustedError(attempt, err);
      }
      options.onRetry?.({ attempt, delayMs, error: err });
      await sleep(delayMs);
    }
  }
}

/** Node socket errors that say "the network or the peer hiccuped", not "your request is wrong". */
const TRANSIENT_ERRNO = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH',
  'EHOSTUNREACH', 'ENETDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);

/** Error codes (S3 and AWS-style services) that mean "try again later". */
const TRANSIENT_CODES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable',
  'InternalError', 'Throttling', 'ThrottlingException', 'ThrottledException', 'TooManyRequests',
  'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException',
  'BandwidthLimitExceeded', 'ProvisionedThroughputExceededException', 'PriorRequestNotComplete',
]);

/** Fields read off an error without trusting its type. */
export function errorFields(err: unknown): { name?: string; code?: string; status?: number; message: string } {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { name?: unknown; code?: unknown; Code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown }; statusCode?: unknown };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode
    : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof e.Code === 'string' ? e.Code : undefined;
  return {
    name: typeof e.name === 'string' ? e.name : undefined,
    code,
    status,
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

/** 5xx, 429, throttling codes, resets and timeouts; never an abort the caller asked for. */
export function isTransientError(err: unknown): boolean {
  const { name, code, status, message } = errorFields(err);
  if (name === 'AbortError') return false;
  // 501 Not Implemented and 505 HTTP Version Not Supported will answer the same next time.
  if (status !== undefined && ((status >= 500 && status !== 501 && status !== 505) || status === 429)) return true;
  if ((name && TRANSIENT_CODES.has(name)) || (code && TRANSIENT_CODES.has(code))) return true;
  if (code && TRANSIENT_ERRNO.has(code)) return true;
  return /socket hang up|ECONNRESET|EPIPE|other side closed|premature close|^aborted$/i.test(message);
}

export function describeError(err: unknown): string {
  const { name, code, status, message } = errorFields(err);
  const label = [code ?? name, status].filter((x) => x !== undefined && x !== 'Error').join(' ');
  return label ? `${label}: ${message}` : message;
}
