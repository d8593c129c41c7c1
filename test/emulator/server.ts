/**
 * A local Scaleway API for tests: the subset of the Block Storage v1, Instance v1 and IAM v1alpha1
 * APIs the backup engine calls, on 127.0.0.1, for the real @scaleway/sdk-* clients
 * (`createClient({..., apiURL: emulator.url})`). Snapshot exports write real QCOW2 objects into an
 * S3 server and imports read them back. Faults and test seeding: see admin.ts and README.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { addAdminRoutes, EmulatorAdmin } from './admin';
import { addBlockRoutes } from './block-api';
import { DiskStore } from './disk-store';
import { Faults, type RequestFault } from './faults';
import {
  ApiError,
  permissionsDenied,
  quotasExceeded,
  sendError,
  serverError,
  tooManyRequests,
} from './http';
import { addIamRoutes, authorize } from './iam-api';
import { LocalServer, addMetadataRoutes } from './local-server';
import { addServerRoutes } from './instance-servers';
import { addLocalStorageRoutes } from './instance-storage';
import { Jobs } from './jobs';
import { DEFAULT_DELAYS, type Delays } from './model';
import { TRANSFER_LIMIT } from './transfers';
import { makeS3Client, type Qcow2Writer, type S3Settings } from './qcow2-io';
import { Router } from './router';
import { EmulatorState, type SeenRequest } from './state';

export interface EmulatorOptions {
  /** The S3 server exports write to and imports read from (its region is every bucket's region). */
  s3: S3Settings;
  /** Milliseconds for each asynchronous transition (defaults in model.ts DEFAULT_DELAYS). */
  delays?: Partial<Delays>;
  /** Default project and organization (UUIDs; random when not given). */
  projectId?: string;
  organizationId?: string;
  /** The API key the emulator accepts. Default access key: random `SCW…`; secret: s3.secretAccessKey when it is a UUID. */
  accessKey?: string;
  secretKey?: string;
  /** QCOW2 writer for exports (default `auto`: qemu-img when on PATH, else the engine's writer). */
  qcow2Writer?: Qcow2Writer;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Largest volume size (bytes) snapshot exports and imports accept (default 1 TB, transfers.ts); lower it to reach it cheaply. */
  transferLimit?: number;
  /** Where the SBS volumes attached to the local server appear (default a `by-id` folder in the emulator's temporary folder). */
  deviceDir?: string;
}

export interface EmulatorCredentials {
  accessKey: string;
  secretKey: string;
  projectId: string;
  organizationId: string;
  defaultZone: string;
  defaultRegion: string;
}

export interface Emulator extends EmulatorAdmin {
  /** `http://127.0.0.1:<port>`, no trailing slash: the SDK's apiURL. */
  readonly url: string;
  /** `<url>/__admin` */
  readonly adminUrl: string;
  readonly credentials: EmulatorCredentials;
  readonly faults: Faults;
  /** Every API request seen (method, path, status, fault applied). */
  readonly requests: readonly SeenRequest[];
  /** The metadata service's base URL (GET `<metadataUrl>/conf?format=json`): the emulator's own. */
  readonly metadataUrl: string;
  /** The `/dev/disk/by-id` of the local server (setLocalServer): its attached SBS volumes' devices. */
  readonly deviceDir: string;
  stop(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const secretKey = options.secretKey ?? (UUID.test(options.s3.secretAccessKey) ? options.s3.secretAccessKey : randomUUID());
  const accessKey = options.accessKey ?? `SCW${randomBytes(17).toString('hex').toUpperCase().slice(0, 17)}`;
  const config = {
    accessKey,
    secretKey,
    projectId: options.projectId ?? randomUUID(),
    organizationId: options.organizationId ?? randomUUID(),
    s3Region: options.s3.region,
    qcow2Writer: options.qcow2Writer ?? 'auto',
    delays: { ...DEFAULT_DELAYS, ...options.delays },
    s3Limits: options.s3.limits,
    transferLimit: options.transferLimit ?? TRANSFER_LIMIT,
  };
  const disks = await DiskStore.create();
  const local = new LocalServer(options.deviceDir ?? join(disks.directory, 'by-id'));
  const state = new EmulatorState(config, disks, makeS3Client(options.s3), new Faults(), new Jobs(), local);
  const admin = new EmulatorAdmin(state);

  const api = new Router();
  addBlockRoutes(api, state);
  addServerRoutes(api, state);
  addLocalStorageRoutes(api, state);
  addIamRoutes(api, state);
  const adminRouter = new Router();
  addAdminRoutes(adminRouter, admin, state);
  const metadataRouter = new Router();
  addMetadataRoutes(metadataRouter, state);

  const stalled = new Set<ServerResponse>();
  let stopping = false;
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      process.stderr.write(`scw emulator: ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}\n`);
      if (!res.headersSent) sendError(res, serverError(500, err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    const isAdmin = path === '/__admin' || path.startsWith('/__admin/');
    const metadata = metadataRouter.match(method, path);
    if (metadata && metadata !== 'method') {
      // The metadata service: no token, not an API request.
      await metadata.handler({ req, res, params: metadata.params, query: url.searchParams, token: '' });
      return;
    }
    const seen: SeenRequest = { method, path, status: 0 };
    if (!isAdmin) state.requests.push(seen);
    res.on('finish', () => (seen.status = res.statusCode));
    try {
      if (!isAdmin) {
        authorize(state, header(req, 'x-auth-token'), method, path);
        const fault = state.faults.take(method, path);
        if (fault) {
          seen.fault = fault.kind;
          if (await applyFault(fault, req, res, path, method)) return;
        }
      }
      const router = isAdmin ? adminRouter : api;
      const m = router.match(method, path);
      if (m === undefined) throw new ApiError(404, { message: `${method} ${path} is not emulated (see test/emulator/README.md)`, type: 'not_found' });
      if (m === 'method') throw new ApiError(405, { message: `${method} is not allowed on ${path}`, type: 'method_not_allowed' });
      await m.handler({ req, res, params: m.params, query: url.searchParams, token: header(req, 'x-auth-token') ?? '' });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (res.headersSent) res.destroy();
      else sendError(res, err);
    }
  }

  /** Apply a request fault; true when the request is fully handled (answered, dropped or held). */
  async function applyFault(fault: RequestFault, req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean> {
    switch (fault.kind) {
      case 'status':
        throw serverError(fault.status, fault.message);
      case 'rate-limit':
        throw tooManyRequests(fault.retryAfterSeconds ?? 1);
      case 'quotas-exceeded':
        throw quotasExceeded(fault.resource ?? 'volumes_sbs_total_size', fault.quota ?? 1_000_000_000_000, fault.current ?? 1_000_000_000_000, config.projectId);
      case 'permissions-denied':
        throw permissionsDenied(fault.resource ?? (path.split('/')[1] || 'api'), fault.action ?? (method === 'GET' ? 'read' : 'write'));
      case 'reset':
        req.socket.destroy();
        return true;
      case 'stall':
        stalled.add(res);
        res.on('close', () => stalled.delete(res));
        req.resume();
        return true;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        if (stopping) {
          res.destroy();
          return true;
        }
        return false;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const emulator = Object.assign(admin, {
    url,
    adminUrl: `${url}/__admin`,
    credentials: {
      accessKey,
      secretKey,
      projectId: config.projectId,
      organizationId: config.organizationId,
      defaultZone: 'fr-par-1',
      defaultRegion: options.s3.region,
    },
    faults: state.faults,
    requests: state.requests,
    metadataUrl: url,
    deviceDir: local.deviceDir,
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      for (const res of stalled) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await state.jobs.stop();
      state.s3.destroy();
      await disks.destroy();
    },
  });
  return emulator;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
