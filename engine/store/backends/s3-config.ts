/**
 * From `s3://BUCKET/PREFIX` plus options and environment to the settings of an S3Backend. Precedence:
 * explicit options, then environment, then Scaleway defaults (fr-par, https://s3.<region>.scw.cloud,
 * path-style). Secrets are read here and handed to the client only: never put in a message.
 */
import type { MultipartLimits } from './s3-limits';
import { InvalidInputError } from '../../errors';
import type { RetryOptions } from './retry';

export const DEFAULT_REGION = 'fr-par';
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface S3UrlOptions {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Requests in flight at once (default 8); also the HTTP agent's socket limit. */
  concurrency?: number;
  retry?: Omit<RetryOptions, 'isRetryable'>;
  /** TCP/TLS connection set-up limit (default 10 s). */
  connectTimeoutMs?: number;
  /** A request whose socket stays silent this long fails with TimeoutError and is retried (default 60 s). */
  idleTimeoutMs?: number;
  multipartThreshold?: number;
  partSize?: number;
  /** What the server accepts in a multipart upload (default Scaleway's, s3-limits.ts). */
  limits?: MultipartLimits;
  retainUntil?: Date;
  listPageSize?: number;
}

export interface S3ResolvedConfig {
  bucket: string;
  prefix: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where the credentials came from, for messages: 'options', 'SCW_*' or 'AWS_*'. */
  credentialSource: string;
}

// S3 bucket naming rules (AWS S3 user guide, "General purpose bucket naming rules").
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/some/prefix` → { bucket, prefix: 'some/prefix' }. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]*)\/?([^?#]*)$/.exec(url);
  if (!m) throw new InvalidInputError(url, 'is not an S3 store URL: expected s3://BUCKET/PREFIX');
  const bucket = m[1];
  if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
    throw new InvalidInputError(url, `${JSON.stringify(bucket)} is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens)`);
  }
  const prefix = m[2].replace(/\/+$/, '');
  if (prefix.startsWith('/') || prefix.split('/').some((p) => p === '.' || p === '..' || (prefix !== '' && p === ''))) {
    throw new InvalidInputError(url, `${JSON.stringify(prefix)} is not a valid key prefix`);
  }
  return { bucket, prefix };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Resolve every setting without touching the network. */
export function resolveS3Config(url: string, options: S3UrlOptions = {}): S3ResolvedConfig {
  const env = options.env ?? process.env;
  const { bucket, prefix } = parseS3Url(url);
  const region = nonEmpty(options.region) ?? nonEmpty(env.SCW_DEFAULT_REGION) ?? DEFAULT_REGION;
  if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(region)) {
    throw new InvalidInputError('region', `${JSON.stringify(region)} is not a region name (e.g. fr-par, nl-ams, pl-waw)`);
  }
  const endpoint = (nonEmpty(options.endpoint) ?? nonEmpty(env.SCW_BACKUP_S3_ENDPOINT) ?? `https://s3.${region}.scw.cloud`).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new InvalidInputError('S3 endpoint', `${JSON.stringify(endpoint)} is not a URL (e.g. https://s3.fr-par.scw.cloud)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidInputError('S3 endpoint', `${endpoint} must start with https:// (or http:// for a local server)`);
  }
  if (parsed.username || parsed.password) {
    throw new InvalidInputError('S3 endpoint', 'must not carry credentials: use SCW_ACCESS_KEY and SCW_SECRET_KEY');
  }
  const creds = pickCredentials(options, env);
  return { bucket, prefix, endpoint, region, ...creds };
}

function pickCredentials(options: S3UrlOptions, env: NodeJS.ProcessEnv): Pick<S3ResolvedConfig, 'accessKeyId' | 'secretAccessKey' | 'credentialSource'> {
  // A pair is taken from one source only: a key from one place and a secret from another is a mistake.
  const sources: Array<[string, string | undefined, string | undefined, string, string]> = [
    ['options', options.accessKeyId, options.secretAccessKey, 'accessKeyId', 'secretAccessKey'],
    ['SCW_*', env.SCW_ACCESS_KEY, env.SCW_SECRET_KEY, 'SCW_ACCESS_KEY', 'SCW_SECRET_KEY'],
    ['AWS_*', env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  ];
  for (const [source, key, secret, keyName, secretName] of sources) {
    const k = nonEmpty(key);
    const s = nonEmpty(secret);
    if (k && s) return { accessKeyId: k, secretAccessKey: s, credentialSource: source };
    if (k || s) {
      throw new InvalidInputError('S3 credentials', `${k ? keyName : secretName} is set but ${k ? secretName : keyName} is not: set both`);
    }
  }
  throw new InvalidInputError('S3 credentials', 'none found: set SCW_ACCESS_KEY and SCW_SECRET_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)');
}
