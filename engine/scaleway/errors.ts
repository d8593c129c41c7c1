/**
 * Typed errors of the Scaleway flows, and the translation of the SDK's errors into them: the CLI
 * prints `message` as is, automation branches on `code`. Messages name the resource, its id and the
 * zone, and never carry a secret.
 */
import { BackupError, NotFoundError } from '../errors';

/** A Block volume (or snapshot, server) the caller named does not exist in that zone. */
export class ScalewayResourceNotFoundError extends NotFoundError {
  readonly resource: string;
  readonly resourceId: string;
  readonly zone: string;
  constructor(resource: string, resourceId: string, zone: string, options?: { cause?: unknown }) {
    super(`${resource} ${resourceId} does not exist in zone ${zone} (check the id and the zone)`);
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause });
    this.resource = resource;
    this.resourceId = resourceId;
    this.zone = zone;
  }
}

/** The volume belongs to another project than the one the credentials are set up for. */
export class WrongProjectError extends BackupError {
  constructor(resource: string, id: string, actualProject: string, expectedProject: string) {
    super('SCW_WRONG_PROJECT', `${resource} ${id} belongs to project ${actualProject}, not to ${expectedProject} (SCW_DEFAULT_PROJECT_ID): use credentials and a project id of the volume's project`);
  }
}

/** A wait ran out of time: names the resource, its id and the last status seen. */
export class WaitTimeoutError extends BackupError {
  readonly resource: string;
  readonly resourceId: string;
  readonly lastStatus: string;
  constructor(resource: string, resourceId: string, lastStatus: string, waitedMs: number, wanted: string) {
    super('SCW_WAIT_TIMEOUT', `${resource} ${resourceId} is still "${lastStatus}" after ${Math.round(waitedMs / 1000)} s (waiting for ${wanted}); raise the timeout or look at it in the Scaleway console`);
    this.resource = resource;
    this.resourceId = resourceId;
    this.lastStatus = lastStatus;
  }
}

/** A resource reached an error state while we waited for it. */
export class ResourceFailedError extends BackupError {
  readonly resource: string;
  readonly resourceId: string;
  readonly status: string;
  constructor(resource: string, resourceId: string, status: string, what: string, code = 'SCW_RESOURCE_FAILED') {
    super(code, `${resource} ${resourceId} ended in status "${status}" while ${what}`);
    this.resource = resource;
    this.resourceId = resourceId;
    this.status = status;
  }
}

/** The export of a snapshot to Object Storage ended in error. */
export class ExportFailedError extends ResourceFailedError {
  constructor(snapshotId: string, status: string, bucket: string, key: string) {
    super('snapshot', snapshotId, status, `exporting to s3://${bucket}/${key}`, 'SCW_EXPORT_FAILED');
  }
}

/** The import of a QCOW2 object as a snapshot ended in error. */
export class ImportFailedError extends ResourceFailedError {
  constructor(snapshotId: string, status: string, bucket: string, key: string) {
    super('snapshot', snapshotId, status, `importing s3://${bucket}/${key}`, 'SCW_IMPORT_FAILED');
  }
}

/** Scaleway refused a request (quota, permission, invalid argument, ...): `status` and `apiType` say which. */
export class ScalewayApiError extends BackupError {
  readonly status: number | undefined;
  readonly apiType: string | undefined;
  constructor(operation: string, detail: string, status: number | undefined, apiType: string | undefined, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'SCW_API_ERROR', `Scaleway refused to ${operation}: ${detail}`, options);
    this.status = status;
    this.apiType = apiType;
  }
}

/** The project's quota does not allow the resource. */
export class QuotaExceededError extends ScalewayApiError {
  constructor(operation: string, detail: string, status: number | undefined, options?: { cause?: unknown }) {
    super(operation, `${detail} (ask for a higher quota, or remove unused snapshots or volumes)`, status, 'quotas_exceeded', { ...options, code: 'SCW_QUOTA_EXCEEDED' });
  }
}

interface SdkErrorShape {
  name?: unknown;
  status?: unknown;
  message?: unknown;
  body?: { type?: unknown; resource?: unknown; resource_id?: unknown };
}

function fields(err: unknown): { name?: string; status?: number; message: string; type?: string } {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as SdkErrorShape;
  return {
    name: typeof e.name === 'string' ? e.name : undefined,
    status: typeof e.status === 'number' ? e.status : undefined,
    message: typeof e.message === 'string' ? e.message : String(err),
    type: typeof e.body?.type === 'string' ? e.body.type : undefined,
  };
}

/** A 404 from the SDK (ResourceNotFoundError or a bare 404). */
export function isScalewayNotFound(err: unknown): boolean {
  const f = fields(err);
  return f.status === 404 || f.name === 'ResourceNotFoundError';
}

/** 5xx (but 501) and 429: the same request may work later. Duck-typed: the SDK's classes may come from another realm. */
export function isTransientScalewayError(err: unknown): boolean {
  const f = fields(err);
  if (f.status === undefined) {
    // fetch failures (connection reset or refused) come as TypeError('fetch failed').
    return /fetch failed|ECONNRESET|ECONNREFUSED|socket hang up/i.test(f.message);
  }
  return f.status === 429 || (f.status >= 500 && f.status !== 501);
}

/** Anything the SDK threw, as one of ours; our own errors pass through. */
export function translateScalewayError(err: unknown, operation: string): Error {
  if (err instanceof BackupError) return err;
  const f = fields(err);
  if (f.name === undefined && f.status === undefined) return err instanceof Error ? err : new Error(f.message);
  if (f.type === 'quotas_exceeded' || f.name === 'QuotasExceededError') return new QuotaExceededError(operation, f.message, f.status, { cause: err });
  return new ScalewayApiError(operation, f.message, f.status, f.type, { cause: err });
}

/**
 * A volume too large for Scaleway's snapshot export or import (1 TB, limits.ts): refused before
 * anything is created, with the way around it.
 */
export class TransferLimitError extends BackupError {
  readonly size: number;
  readonly limit: number;
  constructor(what: string, zone: string, size: number, limit: number, action: 'back up' | 'restore' | 'verify') {
    const way = action === 'restore'
      ? `restore it from an Instance in ${zone} with --via attach (the volume is attached there and written directly)`
      : action === 'back up'
        ? `back it up from an Instance in ${zone} with --via attach (the volume is attached there and read directly)`
        : 'verify it by restoring it with --via attach and comparing on the Instance';
    super('SCW_TRANSFER_LIMIT', `${what} is ${size} bytes: Scaleway exports and imports snapshots of volumes of at most ${limit} bytes (1 TB); ${way}`);
    this.size = size;
    this.limit = limit;
  }
}
