/**
 * Object Storage's upload limits, enforced in front of s3rver (which enforces none): part numbers,
 * part sizes, the size of a single PUT and of a whole multipart object. The defaults are Scaleway's
 * (docs-content pages/object-storage/api-cli/multipart-uploads.mdx, validated 2025-07-30: "1 to 1000
 * parts per object, 5 MB to 5 GB per part (except for the last one), each object stores up to 5
 * TB"), read the way engine/store/backends/s3-limits.ts reads them; a test lowers them to reach them
 * with a small image.
 *
 * Guesses (test/emulator/README.md lists them): the error codes and statuses are AWS S3's
 * (400 InvalidArgument for a part number out of range, 400 EntityTooLarge / EntityTooSmall, 411
 * MissingContentLength), Scaleway's page names none; EntityTooSmall is judged at Complete over every
 * part uploaded so far, not only the parts the Complete lists; AWS's 5 GB single-PUT limit is taken
 * for Scaleway's.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { accessKeyOf, allows, s3Action } from './s3-permissions';

const MiB = 1024 * 1024;

export interface S3UploadLimits {
  maxParts: number;
  minPartSize: number;
  maxPartSize: number;
  /** Largest object a multipart upload may build. */
  maxObjectSize: number;
  /** Largest single PutObject. */
  maxPutSize: number;
}

export const SCALEWAY_UPLOAD_LIMITS: Readonly<S3UploadLimits> = Object.freeze({
  maxParts: 1000,
  minPartSize: 5 * MiB,
  maxPartSize: 5_000_000_000,
  maxObjectSize: 5_000_000_000_000,
  maxPutSize: 5_000_000_000,
});

/** A multipart upload the server completed: its key and the sizes of its parts in order. */
export interface CompletedUpload {
  key: string;
  partSizes: number[];
}

/** What the guard saw, for tests that check which part sizes an upload used. */
export interface UploadLog {
  completed: CompletedUpload[];
  /** Requests refused, by S3 error code. */
  refused: string[];
  /** Every request: the key that signed it and its S3 action (s3-permissions.ts). */
  actions: Array<{ accessKey?: string; action: string }>;
}

/** Keys with IAM permission sets (s3-permissions.ts); keys not in it may do anything. */
export type KeyGrants = Map<string, ReadonlySet<string>>;

/**
 * Put the limits in front of s3rver's request handler: a request over a limit is answered with S3's
 * error (its body drained first, so the client reads the answer rather than a broken pipe); any
 * other goes on to s3rver unchanged.
 */
export function guardUploads(server: Server, limits: S3UploadLimits, grants: KeyGrants = new Map()): UploadLog {
  const log: UploadLog = { completed: [], refused: [], actions: [] };
  const parts = new Map<string, Map<number, number>>();
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const accessKey = accessKeyOf(req);
    const action = s3Action(req);
    log.actions.push({ accessKey, action });
    const sets = accessKey === undefined ? undefined : grants.get(accessKey);
    const refusal = sets && !allows(sets, action)
      ? { status: 403, code: 'AccessDenied', message: `Access Denied (${action} needs a permission set the key lacks)` }
      : check(req, limits, parts);
    if (refusal) {
      log.refused.push(refusal.code);
      req.resume();
      req.on('end', () => sendError(res, refusal.status, refusal.code, refusal.message));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://s3');
    const uploadId = url.searchParams.get('uploadId');
    if (uploadId && req.method === 'PUT') {
      const n = Number(url.searchParams.get('partNumber'));
      const length = Number(req.headers['content-length']);
      res.on('finish', () => {
        if (res.statusCode !== 200) return;
        const sizes = parts.get(uploadId) ?? new Map<number, number>();
        sizes.set(n, length);
        parts.set(uploadId, sizes);
      });
    } else if (uploadId && req.method === 'POST') {
      res.on('finish', () => {
        if (res.statusCode !== 200) return;
        const sizes = parts.get(uploadId);
        parts.delete(uploadId);
        log.completed.push({ key: decodeURIComponent(url.pathname.replace(/^\/[^/]+\//, '')), partSizes: sorted(sizes).map(([, s]) => s) });
      });
    } else if (uploadId && req.method === 'DELETE') {
      parts.delete(uploadId);
    }
    for (const h of handlers) h.call(server, req, res);
  });
  return log;
}

function sorted(sizes: Map<number, number> | undefined): Array<[number, number]> {
  return [...(sizes ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]);
}

function check(req: IncomingMessage, limits: S3UploadLimits, parts: Map<string, Map<number, number>>): { status: number; code: string; message: string } | undefined {
  const url = new URL(req.url ?? '/', 'http://s3');
  const uploadId = url.searchParams.get('uploadId');
  const header = req.headers['content-length'];
  const length = header === undefined ? undefined : Number(header);
  if (req.method === 'PUT' && uploadId) {
    const n = Number(url.searchParams.get('partNumber'));
    if (!Number.isInteger(n) || n < 1 || n > limits.maxParts) {
      return { status: 400, code: 'InvalidArgument', message: `Part number must be an integer between 1 and ${limits.maxParts}, inclusive` };
    }
    if (length === undefined) return { status: 411, code: 'MissingContentLength', message: 'You must provide the Content-Length HTTP header.' };
    if (length > limits.maxPartSize) return { status: 400, code: 'EntityTooLarge', message: `Your proposed upload exceeds the maximum allowed size (${limits.maxPartSize} bytes per part)` };
    return undefined;
  }
  if (req.method === 'PUT' && !url.searchParams.has('uploads') && url.pathname.split('/').filter(Boolean).length > 1) {
    if (length !== undefined && length > limits.maxPutSize) {
      return { status: 400, code: 'EntityTooLarge', message: `Your proposed upload exceeds the maximum allowed size (${limits.maxPutSize} bytes in one PUT)` };
    }
    return undefined;
  }
  if (req.method === 'POST' && uploadId) {
    const list = sorted(parts.get(uploadId));
    const small = list.slice(0, -1).find(([, s]) => s < limits.minPartSize);
    if (small) return { status: 400, code: 'EntityTooSmall', message: `Your proposed upload is smaller than the minimum allowed size (part ${small[0]}: ${small[1]} bytes, minimum ${limits.minPartSize})` };
    const total = list.reduce((n, [, s]) => n + s, 0);
    if (total > limits.maxObjectSize) return { status: 400, code: 'EntityTooLarge', message: `Your proposed upload exceeds the maximum allowed object size (${limits.maxObjectSize} bytes)` };
  }
  return undefined;
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>s3-limits</RequestId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
