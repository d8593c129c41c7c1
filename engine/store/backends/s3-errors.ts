/**
 * What an S3 failure means for the user: a missing bucket, rejected credentials and a wrong region
 * are answered the same way every time, so they are never retried and each gets an error that names
 * the bucket and the endpoint and says what to change. Messages never carry a secret.
 */
import { BackupError } from '../../errors';
import { RetriesExhaustedError, describeError, errorFields, isTransientError } from './retry';

export interface S3ErrorContext {
  bucket: string;
  endpoint: string;
  region: string;
  /** `s3://bucket/prefix`, for messages. */
  location: string;
  op: 'get' | 'put' | 'list' | 'stat' | 'delete';
  /** The object path (relative to the prefix) or listed folder. */
  path?: string;
}

/** The bucket of the store does not exist at this endpoint. */
export class S3BucketNotFoundError extends BackupError {
  readonly bucket: string;
  readonly endpoint: string;
  constructor(ctx: S3ErrorContext, options?: { cause?: unknown }) {
    super('S3_NO_SUCH_BUCKET', `bucket ${ctx.bucket} does not exist at ${ctx.endpoint} (region ${ctx.region}): ` +
      'create it first, or fix the bucket name, region or endpoint', options);
    this.bucket = ctx.bucket;
    this.endpoint = ctx.endpoint;
  }
}

/** The endpoint rejected the access key or the signature, or refused access to the bucket. */
export class S3CredentialsError extends BackupError {
  readonly bucket: string;
  readonly endpoint: string;
  /** The S3 error code, e.g. InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied. */
  readonly s3Code: string;
  constructor(ctx: S3ErrorContext, s3Code: string, options?: { cause?: unknown }) {
    const why = s3Code === 'InvalidAccessKeyId' ? 'the access key is unknown'
      : s3Code === 'SignatureDoesNotMatch' ? 'the secret key does not match the access key'
      : 'access denied';
    super('S3_CREDENTIALS_REJECTED', `credentials rejected by ${ctx.endpoint} for bucket ${ctx.bucket} (${s3Code}: ${why}): ` +
      'check SCW_ACCESS_KEY/SCW_SECRET_KEY (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the key\'s permissions on the bucket', options);
    this.bucket = ctx.bucket;
    this.endpoint = ctx.endpoint;
    this.s3Code = s3Code;
  }
}

/**
 * The server refused requests signed with this machine's clock: it is more than S3's 15 minutes off
 * (RequestTimeTooSkewed, or a bare 403 for a HEAD that the SDK's clock correction explains).
 */
export class S3ClockSkewError extends BackupError {
  readonly endpoint: string;
  /** How far this machine's clock is behind the server's (negative: ahead), in ms; NaN when unknown. */
  readonly skewMs: number;
  constructor(ctx: S3ErrorContext, skewMs: number, options?: { cause?: unknown }) {
    const hours = Math.abs(skewMs) / 3_600_000;
    const amount = Number.isNaN(skewMs) ? 'more than 15 minutes off'
      : `about ${hours >= 1 ? `${Math.round(hours)}h` : `${Math.max(1, Math.round(Math.abs(skewMs) / 60_000))} min`} ${skewMs > 0 ? 'behind' : 'ahead of'}`;
    super('S3_CLOCK_SKEWED', `this machine's clock is ${amount} ${ctx.endpoint}'s (S3 refuses requests signed more than 15 minutes off, ` +
      `${ctx.op} ${ctx.path ?? ''} in ${ctx.location}): set the time (NTP) and try again`, options);
    this.endpoint = ctx.endpoint;
    this.skewMs = skewMs;
  }
}

/** The bucket lives in another region than the one the request was signed for or sent to. */
export class S3WrongRegionError extends BackupError {
  readonly bucket: string;
  readonly endpoint: string;
  readonly region: string;
  /** What the server says instead (a region or an endpoint), when it says it. */
  readonly hint?: string;
  constructor(ctx: S3ErrorContext, s3Code: string, hint: string | undefined, options?: { cause?: unknown }) {
    super('S3_WRONG_REGION', `wrong region for bucket ${ctx.bucket}: ${ctx.endpoint} (region ${ctx.region}) answered ${s3Code}` +
      (hint ? `, the bucket is at ${hint}` : '') + ': set SCW_DEFAULT_REGION or the endpoint (SCW_BACKUP_S3_ENDPOINT) to the bucket\'s region', options);
    this.bucket = ctx.bucket;
    this.endpoint = ctx.endpoint;
    this.region = ctx.region;
    this.hint = hint;
  }
}

/** A delete was refused: on an Object Lock bucket, the object is still under retention. */
export class S3DeleteDeniedError extends BackupError {
  readonly object: string;
  constructor(ctx: S3ErrorContext, s3Code: string, options?: { cause?: unknown }) {
    const object = `${ctx.path ?? '?'} in ${ctx.location}`;
    super('S3_DELETE_DENIED', `cannot delete ${object} (${s3Code}): the object may be under Object Lock retention, ` +
      'or the key may lack the permission to delete objects', options);
    this.object = object;
  }
}

/** Every attempt failed with an error that should have been transient (5xx, throttling, reset, timeout). */
export class S3UnavailableError extends BackupError {
  readonly endpoint: string;
  readonly attempts: number;
  constructor(ctx: S3ErrorContext, attempts: number, cause: unknown) {
    super('S3_UNAVAILABLE', `${ctx.op} ${ctx.path ?? ''} in ${ctx.location} failed ${attempts} time${attempts === 1 ? '' : 's'} ` +
      `at ${ctx.endpoint}, last: ${describeError(cause)}; try again later`, { cause });
    this.endpoint = ctx.endpoint;
    this.attempts = attempts;
  }
}

/** Any other refusal by the server, with its S3 code and HTTP status. */
export class S3RequestError extends BackupError {
  readonly s3Code: string;
  readonly status?: number;
  constructor(ctx: S3ErrorContext, s3Code: string, status: number | undefined, message: string, options?: { cause?: unknown }) {
    super('S3_REQUEST_FAILED', `${ctx.op} ${ctx.path ?? ''} in ${ctx.location} failed at ${ctx.endpoint}: ` +
      `${s3Code}${status ? ` (HTTP ${status})` : ''}: ${message}`, options);
    this.s3Code = s3Code;
    this.status = status;
  }
}

/** S3 refuses a request signed more than 15 minutes from its own time (RequestTimeTooSkewed). */
const MAX_SKEW_MS = 15 * 60_000;

/**
 * How far this machine's clock is behind the server's (negative: ahead), in ms, when the answer shows
 * a skew S3 refuses; NaN when it says so without the times; undefined when it shows none. From
 * RequestTimeTooSkewed's ServerTime and RequestTime, or, for a 403 without a body (a HEAD), from its
 * `Date` against this machine's clock. Such an error reaches translation only when the SDK could not
 * correct its clock (an answer with an `Age` header, which it does not trust for that:
 * getUpdatedSystemClockOffset) or when every retry after its correction failed too.
 */
export function clockSkewOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { ServerTime?: unknown; RequestTime?: unknown };
  if (s3Code(err) === 'RequestTimeTooSkewed') {
    const server = Date.parse(String(e.ServerTime ?? headerOf(err, 'date')));
    const request = Date.parse(String(e.RequestTime));
    if (Number.isNaN(server)) return Number.NaN;
    return server - (Number.isNaN(request) ? Date.now() : request);
  }
  if (httpStatus(err) !== 403) return undefined;
  const date = Date.parse(String(headerOf(err, 'date')));
  const skew = date - Date.now();
  return Math.abs(skew) > MAX_SKEW_MS ? skew : undefined;
}

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken', 'ExpiredToken']);
const REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'MovedPermanently', 'Redirect', 'TemporaryRedirect']);
/** Answers that will not change on a retry, whatever their HTTP status. */
const PERMANENT_CODES = new Set([
  ...CREDENTIAL_CODES, ...REGION_CODES, 'NoSuchBucket', 'NoSuchKey', 'NotFound', 'NotImplemented', 'PreconditionFailed',
  'InvalidRange', 'NoSuchUpload', 'InvalidArgument', 'InvalidRequest', 'InvalidBucketName', 'MethodNotAllowed',
]);
/** 4xx answers S3 documents as worth repeating. */
const RETRYABLE_4XX = new Set(['BadDigest', 'OperationAborted', 'ConditionalRequestConflict', 'IncompleteBody', 'RequestTimeout']);

/** The S3 error code of an SDK error: the parsed `<Code>`, else the SDK's name, else the HTTP status. */
export function s3Code(err: unknown): string {
  const { name, code, status } = errorFields(err);
  if (code && !/^E[A-Z]+$/.test(code)) return code;
  if (name && name !== 'Error' && name !== 'UnknownError') return name;
  return status !== undefined ? String(status) : code ?? 'Error';
}

export function httpStatus(err: unknown): number | undefined {
  return errorFields(err).status;
}

export function isNotFound(err: unknown): boolean {
  const code = s3Code(err);
  return code === 'NoSuchKey' || code === 'NotFound' || (httpStatus(err) === 404 && code !== 'NoSuchBucket' && code !== 'NoSuchUpload');
}

export function isPreconditionFailed(err: unknown): boolean {
  return s3Code(err) === 'PreconditionFailed' || httpStatus(err) === 412;
}

/** Retry policy for S3: transient network and server errors, and the few 4xx S3 asks to repeat. */
export function isRetryableS3Error(err: unknown): boolean {
  if (err instanceof BackupError) return false;
  // RequestTimeTooSkewed (and a 403 without a body, for HEAD) from a host whose clock is off by more
  // than S3's 15 minutes: the SDK's signer has just set the client's clock offset from the server's
  // Date and says so (@aws-sdk/core AwsSdkSigV4Signer.errorHandler); the next attempt is signed right.
  if ((err as { $metadata?: { clockSkewCorrected?: boolean } } | null)?.$metadata?.clockSkewCorrected === true) return true;
  const code = s3Code(err);
  if (PERMANENT_CODES.has(code)) return false;
  if (RETRYABLE_4XX.has(code)) return true;
  const status = httpStatus(err);
  if (status === 301 || status === 403 || status === 404) return false;
  return isTransientError(err);
}

function headerOf(err: unknown, name: string): string | undefined {
  const headers = (err as { $response?: { headers?: Record<string, string | undefined> } } | null)?.$response?.headers;
  return headers?.[name] ?? undefined;
}

function regionHint(err: unknown): string | undefined {
  const e = err as { Region?: unknown; Endpoint?: unknown };
  const header = headerOf(err, 'x-amz-bucket-region');
  if (typeof e.Region === 'string' && e.Region) return `region ${e.Region}`;
  if (header) return `region ${header}`;
  if (typeof e.Endpoint === 'string' && e.Endpoint) return `endpoint ${e.Endpoint}`;
  return undefined;
}

/**
 * Turn an SDK error into the BackupError the user should see. BackupErrors pass through; a missing
 * object is left to the caller (it means different things to get, stat and delete).
 */
export function translateS3Error(err: unknown, ctx: S3ErrorContext): unknown {
  if (err instanceof BackupError) return err;
  // A clock off by more than S3 allows reads as refused credentials unless told apart (clockSkewOf).
  const skew = clockSkewOf(err instanceof RetriesExhaustedError ? err.cause : err);
  if (skew !== undefined) return new S3ClockSkewError(ctx, skew, { cause: err });
  if (err instanceof RetriesExhaustedError) return new S3UnavailableError(ctx, err.attempts, err.cause);
  const code = s3Code(err);
  const status = httpStatus(err);
  const options = { cause: err };
  if (code === 'NoSuchBucket') return new S3BucketNotFoundError(ctx, options);
  if (REGION_CODES.has(code) || status === 301) return new S3WrongRegionError(ctx, code, regionHint(err), options);
  // A HEAD has no body to say AuthorizationHeaderMalformed: S3 answers 400 with the bucket's region.
  const bucketRegion = headerOf(err, 'x-amz-bucket-region');
  if (status === 400 && bucketRegion && bucketRegion !== ctx.region) return new S3WrongRegionError(ctx, code, `region ${bucketRegion}`, options);
  if (ctx.op === 'delete' && (code === 'AccessDenied' || code === 'Forbidden' || status === 403) &&
      code !== 'InvalidAccessKeyId' && code !== 'SignatureDoesNotMatch') {
    return new S3DeleteDeniedError(ctx, code, options);
  }
  if (CREDENTIAL_CODES.has(code) || status === 403) return new S3CredentialsError(ctx, code, options);
  if (isRetryableS3Error(err)) return new S3UnavailableError(ctx, 1, err);
  if (status === undefined && !(typeof err === 'object' && err !== null && '$fault' in err)) return err;
  return new S3RequestError(ctx, code, status, errorFields(err).message, options);
}
