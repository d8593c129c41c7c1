/**
 * Fault switches. Request faults replace the answer to the next N matching API requests (5xx, 429,
 * stalls, resets, quota and permission errors); operation faults change how the next N exports or
 * imports end (stuck in `exporting`, ending in `error`); bucket regions make a bucket look like it
 * lives in another region than the S3 server's, which exports and imports refuse.
 */
export type RequestFault =
  /** Answer with this status (500, 502, 503…) and a JSON error body: a plain ScalewayError. */
  | { kind: 'status'; status: number; message?: string }
  /** 429 too_many_requests with Retry-After (default 1 s): Errors.TooManyRequestsError. */
  | { kind: 'rate-limit'; retryAfterSeconds?: number }
  /** Read the request and never answer, until the client gives up or the emulator stops. */
  | { kind: 'stall' }
  /** Answer normally, but only after `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** Destroy the connection without answering (a network error on the client). */
  | { kind: 'reset' }
  /** 403 quotas_exceeded: Errors.QuotasExceededError. */
  | { kind: 'quotas-exceeded'; resource?: string; quota?: number; current?: number }
  /** 403 permissions_denied: Errors.PermissionsDeniedError. */
  | { kind: 'permissions-denied'; resource?: string; action?: string };

export interface RequestFilter {
  /** HTTP method, e.g. `POST`. */
  method?: string;
  /** Tested against the path (without the query string). A string is compiled as a RegExp. */
  path?: RegExp | string;
}

/** How the next exports/imports end: never (stuck in `exporting`), or in `error`. */
export type OperationFault = 'export-stuck' | 'export-error' | 'import-error';

interface QueuedFault {
  remaining: number;
  fault: RequestFault;
  method?: string;
  path?: RegExp;
}

export class Faults {
  private queue: QueuedFault[] = [];
  private readonly operations = new Map<OperationFault, number>();
  private readonly regions = new Map<string, string>();

  /** Apply `fault` to the next `count` requests matching `filter` (queued after earlier faults). */
  failNext(count: number, fault: RequestFault, filter: RequestFilter = {}): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`fault count must be a positive integer, got ${count}`);
    const path = typeof filter.path === 'string' ? new RegExp(filter.path) : filter.path;
    this.queue.push({ remaining: count, fault, method: filter.method?.toUpperCase(), path });
  }

  /** The fault for this request, if one is queued for it (consumes one use). */
  take(method: string, path: string): RequestFault | undefined {
    const q = this.queue.find((f) => (f.method === undefined || f.method === method) && (f.path === undefined || f.path.test(path)));
    if (!q) return undefined;
    q.remaining--;
    if (q.remaining === 0) this.queue = this.queue.filter((f) => f !== q);
    return q.fault;
  }

  /** Make the next `count` operations of this kind misbehave. */
  failNextOperation(kind: OperationFault, count = 1): void {
    this.operations.set(kind, (this.operations.get(kind) ?? 0) + count);
  }

  /** True (and consumes one) when an operation fault of this kind is pending. */
  takeOperation(kind: OperationFault): boolean {
    const n = this.operations.get(kind) ?? 0;
    if (n === 0) return false;
    this.operations.set(kind, n - 1);
    return true;
  }

  /** Pretend `bucket` lives in `region` (undefined: back to the S3 server's region). */
  setBucketRegion(bucket: string, region: string | undefined): void {
    if (region === undefined) this.regions.delete(bucket);
    else this.regions.set(bucket, region);
  }

  bucketRegion(bucket: string, defaultRegion: string): string {
    return this.regions.get(bucket) ?? defaultRegion;
  }

  clear(): void {
    this.queue = [];
    this.operations.clear();
    this.regions.clear();
  }

  /** What is pending, for the admin listing. */
  describe(): { requests: { remaining: number; fault: RequestFault; method?: string; path?: string }[]; operations: Record<string, number>; bucketRegions: Record<string, string> } {
    return {
      requests: this.queue.map((q) => ({ remaining: q.remaining, fault: q.fault, method: q.method, path: q.path?.source })),
      operations: Object.fromEntries(this.operations),
      bucketRegions: Object.fromEntries(this.regions),
    };
  }
}
