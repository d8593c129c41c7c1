/**
 * An HTTP proxy in front of the test S3 server that can misbehave on request: answer with an S3 XML
 * error (503 SlowDown, 500 InternalError, 403 AccessDenied...), reset the connection before or after
 * the server saw the request, cut a response in the middle, or stall until the client gives up.
 * It records every request it sees (method, URL, headers) and how many were in flight at once.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Answer with this S3 error (after reading the request body). `fields` become extra XML elements. */
  | { kind: 'error'; status: number; code: string; message?: string; fields?: Record<string, string>; headers?: Record<string, string> }
  /** Destroy the socket as soon as the request's first bytes (or headers, without a body) arrive: the server never sees it. */
  | { kind: 'reset-request' }
  /** Forward the request, let the server do it, then destroy the socket instead of answering. */
  | { kind: 'drop-response' }
  /** Forward the request and send the status, headers and half the body, then destroy the socket. */
  | { kind: 'reset-response' }
  /** Read the request and never answer (until the client or stop() closes the socket). */
  | { kind: 'stall' };

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

export interface FaultFilter {
  method?: string;
  /** Tested against the request URL (path and query). */
  url?: RegExp;
}

export interface FaultProxy {
  endpoint: string;
  /** Every request seen since start or the last reset(). */
  readonly requests: SeenRequest[];
  /** Most requests in flight at once since start or the last reset(). */
  readonly maxInFlight: number;
  /** Apply `fault` to the next `count` requests that match `filter` (queued after earlier faults). */
  failNext(count: number, fault: Fault, filter?: FaultFilter): void;
  /** Forget queued faults and recorded requests. */
  reset(): void;
  stop(): Promise<void>;
}

export const slowDown = (): Fault => ({ kind: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
export const internalError = (): Fault => ({ kind: 'error', status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' });
export const s3Error = (status: number, code: string, message = code, fields?: Record<string, string>, headers?: Record<string, string>): Fault =>
  ({ kind: 'error', status, code, message, fields, headers });

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The body real S3 sends with an error (AWS S3 API reference, "Error responses"). */
export function s3ErrorXml(code: string, message: string, resource: string, fields: Record<string, string> = {}): string {
  const extra = Object.entries(fields).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${extra}` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
}

interface Queued {
  remaining: number;
  fault: Fault;
  filter?: FaultFilter;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const queue: Queued[] = [];
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let maxInFlight = 0;

  const takeFault = (req: IncomingMessage): Fault | undefined => {
    const q = queue.find((x) => x.remaining > 0 && (!x.filter?.method || x.filter.method === req.method) &&
      (!x.filter?.url || x.filter.url.test(req.url ?? '')));
    if (!q) return undefined;
    q.remaining--;
    return q.fault;
  };

  const forward = (req: IncomingMessage, onResponse: (res: IncomingMessage) => void, onError: () => void): void => {
    const headers = { ...req.headers };
    delete headers.expect; // this side already answered 100 Continue
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, onResponse);
    out.on('error', onError);
    req.pipe(out);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const fault = takeFault(req);
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, fault: fault?.kind });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        inFlight--;
      }
    };
    res.on('close', finish);
    const kill = (): void => {
      finish();
      req.socket.destroy();
    };

    switch (fault?.kind) {
      case 'error': {
        req.resume();
        req.on('end', () => {
          const body = s3ErrorXml(fault.code, fault.message ?? fault.code, req.url ?? '/', fault.fields);
          res.writeHead(fault.status, { 'content-type': 'application/xml', ...fault.headers });
          res.end(req.method === 'HEAD' ? undefined : body);
        });
        return;
      }
      case 'reset-request': {
        const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
        if (!hasBody) return kill();
        req.once('data', kill);
        return;
      }
      case 'stall':
        req.resume();
        return;
      case 'drop-response':
        return forward(req, (up) => {
          up.resume();
          up.on('end', kill);
        }, kill);
      case 'reset-response':
        return forward(req, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          const length = Number(up.headers['content-length'] ?? 0);
          let sent = 0;
          up.on('data', (chunk: Buffer) => {
            const room = Math.floor(length / 2) - sent;
            if (room > 0) res.write(chunk.subarray(0, room));
            sent += Math.min(chunk.length, Math.max(room, 0));
            if (sent >= Math.floor(length / 2)) {
              up.destroy();
              // Let the half already written reach the client before the reset.
              setTimeout(kill, 20);
            }
          });
          up.on('end', () => setTimeout(kill, 20));
        }, kill);
      default:
        return forward(req, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        }, kill);
    }
  };

  const server = createServer(handle);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    failNext(count, fault, filter) {
      queue.push({ remaining: count, fault, filter });
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      maxInFlight = inFlight;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
