/**
 * From the plain inputs of a Pulumi resource (strings, as they sit in state) to engine objects: the
 * store, the Scaleway clients and the staging bucket. Everything is built per call and closed after
 * it: a dynamic provider must not keep clients between calls (they do not survive serialization).
 */
import { UnwrappedKeys, initRepository, openRepository, type InitOptions, type Repository } from '../engine';
import type { LocationOptions } from '../engine/location';
import type { ScalewayClients } from '../engine/scaleway';
import type { S3Backend } from '../engine/store/backends/s3';
import type { ConnectionOverrides, ScalewayConnection, StoreConnection } from './connection-types';

export type { ConnectionOverrides, ScalewayConnection, StoreConnection } from './connection-types';

function locationOptions(c: StoreConnection): LocationOptions {
  const s3 = c.s3;
  return s3 ? { s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey, env: {} } } : {};
}

/**
 * Master keys unwrapped by this process (the Pulumi plugin, `scw-backup run`): each resource call and
 * each step of a plan opens the store afresh, and pays the passphrase's Argon2id only the first time.
 */
const unwrapped = new UnwrappedKeys();

export async function openStore(c: StoreConnection): Promise<Repository> {
  return openRepository(c.url, c.passphrase, { location: locationOptions(c), unwrapped });
}

export async function initStore(c: StoreConnection, options: InitOptions = {}): Promise<Repository> {
  return initRepository(c.url, c.passphrase, { ...options, location: locationOptions(c) });
}

/** Run `fn` with an open store, closed afterwards whatever happens. */
export async function withStore<T>(c: StoreConnection, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openStore(c);
  try {
    return await fn(repo);
  } finally {
    await repo.backend.close();
  }
}

/** Run `fn` with the Scaleway clients of `zone` and the staging bucket, closed afterwards. */
export async function withScaleway<T>(
  c: ScalewayConnection, zone: string, bucket: string, overrides: ConnectionOverrides,
  fn: (clients: ScalewayClients, staging: S3Backend) => Promise<T>,
): Promise<T> {
  const { createScalewayClients, resolveScalewayProfile, stagingBackend } = await import('../engine/scaleway');
  const profile = resolveScalewayProfile({
    accessKey: c.accessKey, secretKey: c.secretKey, projectId: c.projectId, organizationId: c.organizationId, zone, apiUrl: c.apiUrl, env: {},
  });
  const clients = createScalewayClients(profile, { fetch: overrides.fetch });
  const staging = stagingBackend(profile, bucket, { zone, endpoint: c.s3Endpoint, env: {} });
  try {
    return await fn(clients, staging);
  } finally {
    await staging.close();
  }
}
