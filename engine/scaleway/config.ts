/**
 * Who we are on Scaleway: the profile (keys, project, zone, API URL) from explicit options, else the
 * scw CLI's environment variables; the Block and Instance API clients built from it; and the S3
 * client of the staging bucket (same keys, the zone's region). Secrets are handed to the clients and
 * never put in a message.
 */
import { Blockv1 } from '@scaleway/sdk-block';
import { createAdvancedClient, withHTTPClient, withProfile, withUserAgentSuffix, type Client } from '@scaleway/sdk-client';
import { Instancev1 } from '@scaleway/sdk-instance';
import { InvalidInputError } from '../errors';
import { S3Backend, makeS3Client, type MultipartLimits, type S3BackendOptions } from '../store/backends/s3';
import type { RetryOptions } from '../store/backends/retry';

export interface ScalewayProfile {
  accessKey: string;
  secretKey: string;
  projectId: string;
  organizationId?: string;
  /** e.g. fr-par-1 */
  zone: string;
  /** Default https://api.scaleway.com (no trailing slash). */
  apiUrl: string;
}

export interface ScalewayProfileOptions extends Partial<ScalewayProfile> {
  /** Environment to read (default process.env; tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export interface ScalewayClients {
  block: Blockv1.API;
  instance: Instancev1.API;
  profile: ScalewayProfile;
}

export const DEFAULT_API_URL = 'https://api.scaleway.com';

// The shapes @scaleway/sdk-client checks (client-ini-profile / validations): checked here first so
// the message names the variable instead of the SDK's "invalid access key format".
const ACCESS_KEY_RE = /^SCW[A-Z0-9]{17}$/i;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZONE_RE = /^[a-z]{2}-[a-z]{3}-[1-9]$/;

function pick(option: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = option ?? env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Check a zone name (fr-par-1); `input` names where it came from. */
export function checkZone(zone: string, input = 'zone'): string {
  if (!ZONE_RE.test(zone)) throw new InvalidInputError(input, `${JSON.stringify(zone)} is not a Scaleway zone (e.g. fr-par-1, nl-ams-1, pl-waw-2)`);
  return zone;
}

/** fr-par-1 → fr-par */
export function regionOfZone(zone: string): string {
  return checkZone(zone).replace(/-[1-9]$/, '');
}

/** The profile from explicit options, else SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID, ... */
export function resolveScalewayProfile(options: ScalewayProfileOptions = {}): ScalewayProfile {
  const env = options.env ?? process.env;
  const accessKey = pick(options.accessKey, env, 'SCW_ACCESS_KEY');
  const secretKey = pick(options.secretKey, env, 'SCW_SECRET_KEY');
  const projectId = pick(options.projectId, env, 'SCW_DEFAULT_PROJECT_ID');
  const organizationId = pick(options.organizationId, env, 'SCW_DEFAULT_ORGANIZATION_ID');
  const zone = pick(options.zone, env, 'SCW_DEFAULT_ZONE') ?? 'fr-par-1';
  const apiUrl = (pick(options.apiUrl, env, 'SCW_API_URL') ?? DEFAULT_API_URL).replace(/\/+$/, '');

  if (!accessKey) throw new InvalidInputError('SCW_ACCESS_KEY', 'is not set: give the access key of an API key (SCW followed by 17 letters or digits)');
  if (!ACCESS_KEY_RE.test(accessKey)) throw new InvalidInputError('SCW_ACCESS_KEY', 'is not an access key (SCW followed by 17 letters or digits)');
  if (!secretKey) throw new InvalidInputError('SCW_SECRET_KEY', 'is not set: give the secret key of the API key');
  // Never echo the secret, even a malformed one.
  if (!UUID_RE.test(secretKey)) throw new InvalidInputError('SCW_SECRET_KEY', 'is not a secret key (a UUID); the value is not shown');
  if (!projectId) throw new InvalidInputError('SCW_DEFAULT_PROJECT_ID', 'is not set: give the id of the project that holds the volumes');
  if (!UUID_RE.test(projectId)) throw new InvalidInputError('SCW_DEFAULT_PROJECT_ID', `${JSON.stringify(projectId)} is not a project id (a UUID)`);
  if (organizationId && !UUID_RE.test(organizationId)) {
    throw new InvalidInputError('SCW_DEFAULT_ORGANIZATION_ID', `${JSON.stringify(organizationId)} is not an organization id (a UUID)`);
  }
  checkZone(zone, 'SCW_DEFAULT_ZONE');
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new InvalidInputError('SCW_API_URL', `${JSON.stringify(apiUrl)} is not a URL (default ${DEFAULT_API_URL})`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new InvalidInputError('SCW_API_URL', `${apiUrl} must be an http(s) URL without credentials`);
  }
  return { accessKey, secretKey, projectId, organizationId, zone, apiUrl };
}

export interface ClientOptions {
  /** A ready SDK client (tests pass one pointed at the emulator). */
  client?: Client;
  /** A fetch for the SDK (under jest, one that parses JSON in the test realm: see test/emulator/README.md). */
  fetch?: typeof fetch;
}

/** The Block and Instance APIs for a profile. The profile's zone and project are the defaults of every call. */
export function createScalewayClients(profile: ScalewayProfile, options: ClientOptions = {}): ScalewayClients {
  const client = options.client ?? createAdvancedClient(
    withProfile({
      accessKey: profile.accessKey,
      secretKey: profile.secretKey,
      defaultProjectId: profile.projectId,
      defaultOrganizationId: profile.organizationId,
      defaultZone: profile.zone,
      defaultRegion: regionOfZone(profile.zone),
      apiURL: profile.apiUrl,
    }),
    withUserAgentSuffix('scw-backup'),
    ...(options.fetch ? [withHTTPClient(options.fetch)] : []),
  );
  return { block: new Blockv1.API(client), instance: new Instancev1.API(client), profile };
}

export interface StagingOptions {
  /** Default SCW_BACKUP_S3_ENDPOINT, else https://s3.<region of the zone>.scw.cloud */
  endpoint?: string;
  /** Zone whose region the bucket is in (default the profile's). */
  zone?: string;
  env?: NodeJS.ProcessEnv;
  retry?: Omit<RetryOptions, 'isRetryable'>;
  partSize?: number;
  /** What the bucket accepts in a multipart upload (default Scaleway's, store/backends/s3-limits.ts). */
  limits?: MultipartLimits;
  concurrency?: number;
}

/**
 * The staging bucket as an S3Backend at the bucket's root, with the profile's keys (Scaleway Object
 * Storage takes the API key as S3 credentials). close() destroys its client.
 */
export function stagingBackend(profile: ScalewayProfile, bucket: string, options: StagingOptions = {}): S3Backend {
  const env = options.env ?? process.env;
  const region = regionOfZone(options.zone ?? profile.zone);
  const endpoint = (options.endpoint ?? pick(undefined, env, 'SCW_BACKUP_S3_ENDPOINT') ?? `https://s3.${region}.scw.cloud`).replace(/\/+$/, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidInputError('--bucket', `${JSON.stringify(bucket)} is not a bucket name (3-63 lowercase letters, digits, dots and hyphens)`);
  }
  const config = { bucket, prefix: '', endpoint, region, accessKeyId: profile.accessKey, secretAccessKey: profile.secretKey, credentialSource: 'SCW_*' };
  const backendOptions: S3BackendOptions = {
    bucket, prefix: '', endpoint, region, ownsClient: true, retry: options.retry, partSize: options.partSize, limits: options.limits, concurrency: options.concurrency,
    client: makeS3Client(config, { concurrency: options.concurrency }),
  };
  return new S3Backend(backendOptions);
}
