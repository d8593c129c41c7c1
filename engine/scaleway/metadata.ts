/**
 * Which Instance this process runs on, from the Instance metadata service: GET
 * http://169.254.42.42/conf?format=json answers, on a Scaleway Instance, with the server's `id`,
 * `zone`, `project`, ... (Scaleway Go SDK api/instance/v1/instance_metadata_sdk.go: metadataAPIv4,
 * GetMetadata, type Metadata; it gives the service 3 s). Off Scaleway the address does not answer:
 * then this is not an Instance, which is not an error.
 */
import { BackupError } from '../errors';

export const METADATA_URL = 'http://169.254.42.42';

export interface InstanceIdentity {
  serverId: string;
  zone: string;
  projectId?: string;
  name?: string;
}

export interface MetadataOptions {
  /** Base URL (default http://169.254.42.42; SCW_BACKUP_METADATA_URL). */
  url?: string;
  /** Give up after this long: not on an Instance (default 3 s, as the Go SDK). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** The metadata service answered, but not with what it answers on an Instance. */
export class MetadataError extends BackupError {
  constructor(url: string, what: string) {
    super('SCW_METADATA', `the Instance metadata service at ${url} answered ${what}; set SCW_BACKUP_METADATA_URL if it lives elsewhere, or use --via export`);
  }
}

/** This Instance, or undefined when the metadata service does not answer (not on a Scaleway Instance). */
export async function instanceMetadata(o: MetadataOptions = {}): Promise<InstanceIdentity | undefined> {
  const base = (o.url ?? (o.env ?? process.env).SCW_BACKUP_METADATA_URL ?? METADATA_URL).replace(/\/+$/, '');
  const url = `${base}/conf?format=json`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 3000) });
  } catch {
    return undefined; // no route, refused, timed out: not an Instance
  }
  if (res.status === 404) return undefined;
  if (!res.ok) throw new MetadataError(base, `HTTP ${res.status}`);
  let body: { id?: unknown; zone?: unknown; location?: { zone_id?: unknown }; project?: unknown; name?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new MetadataError(base, 'something that is not JSON');
  }
  const zone = typeof body.zone === 'string' ? body.zone : typeof body.location?.zone_id === 'string' ? body.location.zone_id : undefined;
  if (typeof body.id !== 'string' || !zone) throw new MetadataError(base, 'without a server id and zone');
  return { serverId: body.id, zone, projectId: typeof body.project === 'string' ? body.project : undefined, name: typeof body.name === 'string' ? body.name : undefined };
}
