/**
 * Which Instance this process runs on, from the Instance metadata service: GET
 * http://169.254.42.42/conf?format=json answers, on a Scaleway Instance, with the server's `id`,
 * `zone`, `project`, ... (Scaleway Go SDK api/instance/v1/instance_metadata_sdk.go: metadataAPIv4,
 * GetMetadata, type Metadata; it gives the service 3 s). Off Scaleway the address does not answer,
 * or something else does (a proxy answering 403 for any address, on some machines): then this is
 * not an Instance, which is not an error; the answer says why, for a caller that needed one.
 */

export const METADATA_URL = 'http://169.254.42.42';

export interface InstanceIdentity {
  serverId: string;
  zone: string;
  projectId?: string;
  name?: string;
}

/** Not a Scaleway Instance, and what the metadata address did instead of answering as one. */
export interface NotAnInstance {
  notAnInstance: string;
}

export interface MetadataOptions {
  /** Base URL (default http://169.254.42.42; SCW_BACKUP_METADATA_URL). */
  url?: string;
  /** Give up after this long: not on an Instance (default 3 s, as the Go SDK). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** This Instance, or why this is not one (no answer from the metadata service, or not its answer). */
export async function instanceMetadata(o: MetadataOptions = {}): Promise<InstanceIdentity | NotAnInstance> {
  const base = (o.url ?? (o.env ?? process.env).SCW_BACKUP_METADATA_URL ?? METADATA_URL).replace(/\/+$/, '');
  const url = `${base}/conf?format=json`;
  const not = (what: string): NotAnInstance => ({ notAnInstance: `the Instance metadata service at ${base} ${what}` });
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 3000) });
  } catch (err) {
    return not(`does not answer (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!res.ok) return not(`answered HTTP ${res.status}`);
  let body: { id?: unknown; zone?: unknown; location?: { zone_id?: unknown }; project?: unknown; name?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    return not('answered something that is not JSON');
  }
  const zone = typeof body.zone === 'string' ? body.zone : typeof body.location?.zone_id === 'string' ? body.location.zone_id : undefined;
  if (typeof body.id !== 'string' || !zone) return not('answered without a server id and zone');
  return { serverId: body.id, zone, projectId: typeof body.project === 'string' ? body.project : undefined, name: typeof body.name === 'string' ? body.name : undefined };
}

export function isInstance(x: InstanceIdentity | NotAnInstance): x is InstanceIdentity {
  return 'serverId' in x;
}
