import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BackupError, NotFoundError, ObjectExistsError } from '../../../engine/errors';
import {
  RetriesExhaustedError, backoffDelay, isTransientError, withRetry,
} from '../../../engine/store/backends/retry';
import {
  S3Backend, isRetryableS3Error, makeS3Client, multipartEtag, parseS3Url, resolveS3Config, s3BackendFromUrl,
} from '../../../engine/store/backends/s3';
import type { S3UrlOptions } from '../../../engine/store/backends/s3';
import { prng } from '../../helpers';
import { internalError, s3Error, slowDown, startFaultProxy } from '../../rig/fault-proxy';
import type { FaultProxy } from '../../rig/fault-proxy';
import { startS3Server } from '../../rig/s3-server';
import type { S3TestServer } from '../../rig/s3-server';
import { describeBackendContract } from './backend-contract';

const BUCKET = 'scwb-store';
const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5 };

let server: S3TestServer;
let proxy: FaultProxy;
let buckets = 0;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  proxy = await startFaultProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

const freshPrefix = (): string => `t/${randomBytes(6).toString('hex')}`;

/** A backend made the way the CLI makes it: from a URL, with no environment. */
function backendAt(endpoint: string, options: S3UrlOptions = {}, url = `s3://${BUCKET}/${freshPrefix()}`): S3Backend {
  return s3BackendFromUrl(url, {
    endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    env: {},
    idleTimeoutMs: 5000,
    ...options,
    retry: { ...FAST_RETRY, ...options.retry },
  });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function rejection(p: Promise<unknown>): Promise<BackupError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BackupError);
    return err as BackupError;
  }
  throw new Error('expected a rejection');
}

describeBackendContract('S3Backend from a URL, small list pages', async () => backendAt(server.endpoint, { listPageSize: 3 }));

describeBackendContract('S3Backend with an injected client, at the root of its own bucket', async () => {
  const bucket = `scwb-root-${++buckets}`;
  await server.createBucket(bucket);
  const config = resolveS3Config(`s3://${bucket}`, {
    endpoint: server.endpoint, env: { SCW_ACCESS_KEY: server.accessKeyId, SCW_SECRET_KEY: server.secretAccessKey },
  });
  return new S3Backend({ bucket, client: makeS3Client(config), ownsClient: true, retry: FAST_RETRY });
});

describe('S3Backend against failures', () => {
  let backend: S3Backend | undefined;
  beforeEach(() => proxy.reset());
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
  });
  const via = (options: S3UrlOptions = {}, url?: string): S3Backend => (backend = backendAt(proxy.endpoint, options, url));
  const seen = (method: string, url?: RegExp): number =>
    proxy.requests.filter((r) => r.method === method && (!url || url.test(r.url))).length;

  test('a bucket that does not exist: a clear error naming it, not retried', async () => {
    const b = via({}, 's3://no-such-bucket/store');
    const ops = [() => b.get('config'), () => b.put('config', new Uint8Array(3)), () => b.stat('config'), () => b.list('packs')[Symbol.asyncIterator]().next()];
    for (const op of ops) {
      const err = await rejection(op());
      expect(err.code).toBe('S3_NO_SUCH_BUCKET');
      expect(err.message).toContain('bucket no-such-bucket does not exist');
      expect(err.message).toContain(proxy.endpoint);
    }
    expect(proxy.requests.length).toBeLessThanOrEqual(6); // get, head+put, head+headBucket, list: once each
  });

  test('an unknown access key: credentials rejected, not retried, no secret in the message', async () => {
    const b = via({ accessKeyId: 'SCWUNKNOWNKEY0000', secretAccessKey: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' });
    const err = await rejection(b.get('config'));
    expect(err.code).toBe('S3_CREDENTIALS_REJECTED');
    expect(err).toMatchObject({ s3Code: 'InvalidAccessKeyId' });
    expect(err.message).toContain(proxy.endpoint);
    expect(err.message).not.toContain('aaaaaaaa-bbbb');
    expect(proxy.requests.length).toBe(1);
  });

  test.each(['SignatureDoesNotMatch', 'AccessDenied', 'InvalidAccessKeyId'])('%s (403) is credentials rejected, not retried', async (code) => {
    const b = via();
    proxy.failNext(5, s3Error(403, code));
    const err = await rejection(b.get('config'));
    expect(err.code).toBe('S3_CREDENTIALS_REJECTED');
    expect(err).toMatchObject({ s3Code: code });
    expect(proxy.requests.length).toBe(1);
  });

  test('a 403 to a HEAD (no body) is credentials rejected too', async () => {
    const b = via();
    proxy.failNext(5, s3Error(403, 'AccessDenied'));
    expect((await rejection(b.stat('config'))).code).toBe('S3_CREDENTIALS_REJECTED');
    expect(proxy.requests.length).toBe(1);
  });

  test('wrong region: PermanentRedirect and AuthorizationHeaderMalformed name the right one, not retried', async () => {
    const b = via();
    proxy.failNext(1, s3Error(301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.',
      { Bucket: BUCKET, Endpoint: 's3.nl-ams.scw.cloud' }));
    let err = await rejection(b.get('config'));
    expect(err.code).toBe('S3_WRONG_REGION');
    expect(err.message).toContain('s3.nl-ams.scw.cloud');
    proxy.failNext(1, s3Error(400, 'AuthorizationHeaderMalformed', 'the region \'fr-par\' is wrong; expecting \'pl-waw\'', { Region: 'pl-waw' }), { method: 'PUT' });
    err = await rejection(b.put('config', new Uint8Array(1)));
    expect(err.code).toBe('S3_WRONG_REGION');
    expect(err.message).toContain('region pl-waw');
    proxy.failNext(1, s3Error(301, 'PermanentRedirect', '', {}, { 'x-amz-bucket-region': 'it-mil' }));
    err = await rejection(b.stat('config'));
    expect(err.code).toBe('S3_WRONG_REGION');
    expect(err.message).toContain('it-mil');
    // What S3 answers a HEAD signed for the wrong region: a bare 400 and the bucket's region.
    proxy.failNext(1, s3Error(400, 'AuthorizationHeaderMalformed', '', {}, { 'x-amz-bucket-region': 'nl-ams' }));
    err = await rejection(b.stat('config'));
    expect(err.code).toBe('S3_WRONG_REGION');
    expect(err.message).toContain('nl-ams');
    expect(proxy.requests.map((r) => r.method)).toEqual(['GET', 'HEAD', 'PUT', 'HEAD', 'HEAD']);
  });

  test('another 4xx is not retried', async () => {
    const b = via();
    proxy.failNext(5, s3Error(400, 'InvalidArgument', 'nope'));
    const err = await rejection(b.get('config'));
    expect(err.code).toBe('S3_REQUEST_FAILED');
    expect(err.message).toContain('InvalidArgument');
    expect(proxy.requests.length).toBe(1);
  });

  test('500 three times, then success: put and get', async () => {
    const b = via();
    const data = prng(11)(300_000);
    proxy.failNext(3, internalError(), { method: 'PUT' });
    await b.put('packs/aa/p1', data);
    expect(seen('PUT')).toBe(4);
    proxy.failNext(3, internalError(), { method: 'GET' });
    expect(Buffer.from(await b.get('packs/aa/p1')).equals(data)).toBe(true);
    expect(seen('GET')).toBe(4);
  });

  test('more transient failures than attempts: S3_UNAVAILABLE after exactly maxAttempts', async () => {
    const b = via({ retry: { maxAttempts: 3 } });
    proxy.failNext(10, internalError(), { method: 'GET' });
    const err = await rejection(b.get('config'));
    expect(err.code).toBe('S3_UNAVAILABLE');
    expect(err.message).toContain('InternalError');
    expect(seen('GET')).toBe(3);
  });

  test('SlowDown 503 is retried with backoff', async () => {
    const delays: number[] = [];
    const b = via({ retry: { onRetry: (i) => delays.push(i.delayMs) } });
    await b.put('index/i1', new Uint8Array([1, 2, 3]));
    proxy.reset();
    proxy.failNext(2, slowDown());
    expect(Array.from(await b.get('index/i1'))).toEqual([1, 2, 3]);
    expect(proxy.requests.map((r) => r.fault)).toEqual(['error', 'error', undefined]);
    expect(delays.length).toBe(2);
  });

  test('connection reset in the middle of an upload, then success', async () => {
    const b = via();
    const data = prng(12)(3 * 1024 * 1024);
    proxy.failNext(1, { kind: 'reset-request' }, { method: 'PUT' });
    await b.put('packs/bb/reset', data);
    expect(seen('PUT')).toBe(2);
    expect(sha(await b.get('packs/bb/reset'))).toBe(sha(data));
  });

  test('the answer to a PUT is lost after the server stored it: the retry sees our bytes and succeeds', async () => {
    const b = via();
    const data = prng(13)(500_000);
    proxy.failNext(1, { kind: 'drop-response' }, { method: 'PUT' });
    await b.put('packs/cc/lost', data);
    expect(seen('PUT')).toBe(1);
    expect(sha(await b.get('packs/cc/lost'))).toBe(sha(data));
    await expect(b.put('packs/cc/lost', data)).rejects.toBeInstanceOf(ObjectExistsError);
  });

  test('the answer to a PUT is lost and another object is now there: ObjectExistsError', async () => {
    const prefix = freshPrefix();
    const admin = makeS3Client(resolveS3Config(`s3://${BUCKET}`, { endpoint: server.endpoint, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }));
    let overwrite: Promise<unknown> | undefined;
    const other = prng(15)(1000);
    const b = via({
      retry: {
        // While our put backs off, someone else's object takes the key (s3rver lets an overwrite through).
        onRetry: () => { overwrite ??= admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/packs/dd/x`, Body: other })); },
        sleep: async () => { await overwrite; },
      },
    }, `s3://${BUCKET}/${prefix}`);
    proxy.failNext(1, { kind: 'drop-response' }, { method: 'PUT' });
    await expect(b.put('packs/dd/x', prng(14)(1000))).rejects.toBeInstanceOf(ObjectExistsError);
    expect(Buffer.from(await b.get('packs/dd/x')).equals(other)).toBe(true);
    admin.destroy();
  });

  test('a server that honours If-None-Match answers 412: ObjectExistsError', async () => {
    const b = via();
    proxy.failNext(1, s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'), { method: 'PUT' });
    await expect(b.put('config', new Uint8Array(10))).rejects.toBeInstanceOf(ObjectExistsError);
    const put = proxy.requests.find((r) => r.method === 'PUT');
    expect(put?.headers['if-none-match']).toBe('*');
    expect(put?.headers['content-md5']).toBe(createHash('md5').update(new Uint8Array(10)).digest('base64'));
  });

  test('a server that cannot do If-None-Match (501) is written to without it from then on', async () => {
    const b = via();
    proxy.failNext(1, s3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented'), { method: 'PUT' });
    await b.put('packs/nn/a', new Uint8Array([1]));
    await b.put('packs/nn/b', new Uint8Array([2]));
    expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['if-none-match'])).toEqual(['*', undefined, undefined]);
    expect(Array.from(await b.get('packs/nn/a'))).toEqual([1]);
    await expect(b.put('packs/nn/a', new Uint8Array([9]))).rejects.toBeInstanceOf(ObjectExistsError);
  });

  test('a multipart upload that fails for good is aborted and reported', async () => {
    const b = via({ multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    proxy.failNext(1, s3Error(400, 'InvalidArgument', 'bad part'), { method: 'PUT', url: /partNumber=2/ });
    const err = await rejection(b.put('packs/oo/fail', prng(21)(11 * 1024 * 1024)));
    expect(err.code).toBe('S3_REQUEST_FAILED');
    expect(seen('DELETE', /uploadId=/)).toBe(1); // s3rver answers 405 to it: ignored, a lifecycle rule reaps
    expect(seen('POST', /uploadId=/)).toBe(0);
    expect(await b.stat('packs/oo/fail')).toBeUndefined();
  });

  test('connection reset in the middle of a download, then success', async () => {
    const b = via();
    const data = prng(16)(2 * 1024 * 1024);
    await b.put('packs/ee/r', data);
    proxy.failNext(1, { kind: 'reset-response' }, { method: 'GET' });
    expect(sha(await b.get('packs/ee/r'))).toBe(sha(data));
    proxy.failNext(1, { kind: 'reset-response' }, { method: 'GET' });
    const slice = await b.get('packs/ee/r', { offset: 100_000, length: 1_000_000 });
    expect(Buffer.from(slice).equals(data.subarray(100_000, 1_100_000))).toBe(true);
    expect(proxy.requests.filter((r) => r.fault === 'reset-response').length).toBe(2);
  });

  test('a stalled server: TimeoutError surfaced after bounded retries', async () => {
    const b = via({ idleTimeoutMs: 300, retry: { maxAttempts: 3 } });
    proxy.failNext(10, { kind: 'stall' }, { method: 'GET' });
    const start = Date.now();
    const err = await rejection(b.get('config'));
    expect(err.code).toBe('S3_UNAVAILABLE');
    expect(err.message).toMatch(/TimeoutError|timed out/);
    expect(seen('GET')).toBe(3);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  test('multipart upload above the threshold reads back byte for byte; a failed part is retried alone', async () => {
    const b = via({ multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const data = prng(17)(23 * 1024 * 1024 + 123);
    proxy.failNext(1, internalError(), { method: 'PUT', url: /partNumber=3/ });
    await b.put('packs/ff/multi', data);
    expect(seen('POST', /uploads/)).toBe(1);
    expect(seen('PUT', /partNumber=/)).toBe(6); // 5 parts, part 3 twice
    expect(seen('POST', /uploadId=/)).toBe(1);
    expect(proxy.requests.filter((r) => /partNumber=/.test(r.url)).every((r) => typeof r.headers['content-md5'] === 'string')).toBe(true);
    expect(sha(await b.get('packs/ff/multi'))).toBe(sha(data));
    expect(await b.stat('packs/ff/multi')).toMatchObject({ path: 'packs/ff/multi', size: data.byteLength });
    await expect(b.put('packs/ff/multi', data)).rejects.toBeInstanceOf(ObjectExistsError);
  });

  test('multipart: the answer to Complete is lost, the retry finds our object', async () => {
    const b = via({ multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const data = prng(18)(11 * 1024 * 1024);
    proxy.failNext(1, { kind: 'drop-response' }, { method: 'POST', url: /uploadId=/ });
    await b.put('packs/ff/complete', data);
    expect(sha(await b.get('packs/ff/complete'))).toBe(sha(data));
  });

  test('retainUntil puts GOVERNANCE retention on single and multipart uploads', async () => {
    const until = new Date('2031-01-02T03:04:05Z');
    const b = via({ retainUntil: until, multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    await b.put('snapshots/s1', new Uint8Array(100));
    await b.put('packs/gg/big', prng(19)(7 * 1024 * 1024));
    const single = proxy.requests.find((r) => r.method === 'PUT' && r.url.includes('snapshots'));
    const create = proxy.requests.find((r) => r.method === 'POST' && /uploads/.test(r.url));
    for (const r of [single, create]) {
      expect(r?.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
      expect(new Date(String(r?.headers['x-amz-object-lock-retain-until-date'])).getTime()).toBe(until.getTime());
    }
  });

  test('a refused delete (Object Lock) is a typed error naming the object', async () => {
    const b = via();
    proxy.failNext(1, s3Error(403, 'AccessDenied', 'Access Denied'), { method: 'DELETE' });
    const err = await rejection(b.delete('packs/hh/locked'));
    expect(err.code).toBe('S3_DELETE_DENIED');
    expect(err.message).toContain('packs/hh/locked');
    expect(err.message).toContain(b.location);
    expect(seen('DELETE')).toBe(1);
  });

  test('requests in flight are bounded by `concurrency`', async () => {
    const b = via({ concurrency: 3 });
    const rnd = prng(20);
    await Promise.all(Array.from({ length: 24 }, (_, i) => b.put(`packs/ii/${i}`, rnd(200_000))));
    expect(proxy.maxInFlight).toBeLessThanOrEqual(3);
    expect(proxy.maxInFlight).toBeGreaterThanOrEqual(2);
  });

  test('an object missing at get is NotFoundError, and location is the URL', async () => {
    const b = via({}, `s3://${BUCKET}/some/prefix/`);
    expect(b.location).toBe(`s3://${BUCKET}/some/prefix`);
    await expect(b.get('nothing')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('S3 URL and settings', () => {
  test('parseS3Url', () => {
    expect(parseS3Url('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    expect(parseS3Url('s3://my.bucket-1')).toEqual({ bucket: 'my.bucket-1', prefix: '' });
    expect(parseS3Url('s3://bucket/')).toEqual({ bucket: 'bucket', prefix: '' });
    for (const bad of ['http://bucket/x', 's3://', 's3:///x', 's3://Bad_Bucket/x', 's3://ab/x', 's3://bucket/../x', 's3://bucket/a//b', 's3://bucket/x?y=1', 'bucket/x']) {
      expect(() => parseS3Url(bad)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    }
  });

  const creds = { SCW_ACCESS_KEY: 'SCWAAAAAAAAAAAAAAAA', SCW_SECRET_KEY: 'scw-secret' };

  test('defaults: fr-par and its Scaleway endpoint', () => {
    expect(resolveS3Config('s3://b-1/p', { env: creds })).toMatchObject({
      bucket: 'b-1', prefix: 'p', region: 'fr-par', endpoint: 'https://s3.fr-par.scw.cloud', accessKeyId: 'SCWAAAAAAAAAAAAAAAA', credentialSource: 'SCW_*',
    });
  });

  test('SCW_DEFAULT_REGION picks the endpoint; SCW_BACKUP_S3_ENDPOINT overrides it; options override both', () => {
    expect(resolveS3Config('s3://b-1', { env: { ...creds, SCW_DEFAULT_REGION: 'nl-ams' } })).toMatchObject({ region: 'nl-ams', endpoint: 'https://s3.nl-ams.scw.cloud' });
    expect(resolveS3Config('s3://b-1', { env: { ...creds, SCW_DEFAULT_REGION: 'nl-ams', SCW_BACKUP_S3_ENDPOINT: 'http://127.0.0.1:9000/' } }))
      .toMatchObject({ region: 'nl-ams', endpoint: 'http://127.0.0.1:9000' });
    expect(resolveS3Config('s3://b-1', { region: 'pl-waw', endpoint: 'https://other.example', env: { ...creds, SCW_DEFAULT_REGION: 'nl-ams', SCW_BACKUP_S3_ENDPOINT: 'http://x' } }))
      .toMatchObject({ region: 'pl-waw', endpoint: 'https://other.example' });
    expect(resolveS3Config('s3://b-1', { region: 'it-mil', env: creds })).toMatchObject({ endpoint: 'https://s3.it-mil.scw.cloud' });
  });

  test('credentials: options, then SCW_*, then AWS_*; half a pair is an error; none is an error', () => {
    const aws = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'aws-secret' };
    expect(resolveS3Config('s3://b-1', { env: { ...creds, ...aws } })).toMatchObject({ accessKeyId: creds.SCW_ACCESS_KEY, credentialSource: 'SCW_*' });
    expect(resolveS3Config('s3://b-1', { env: aws })).toMatchObject({ accessKeyId: 'AKIA', secretAccessKey: 'aws-secret', credentialSource: 'AWS_*' });
    expect(resolveS3Config('s3://b-1', { accessKeyId: 'K', secretAccessKey: 'S', env: { ...creds, ...aws } })).toMatchObject({ accessKeyId: 'K', credentialSource: 'options' });
    expect(() => resolveS3Config('s3://b-1', { env: { SCW_ACCESS_KEY: 'SCWX', ...aws } })).toThrow(/SCW_SECRET_KEY/);
    expect(() => resolveS3Config('s3://b-1', { env: { SCW_SECRET_KEY: 'top-secret-value' } })).toThrow(/SCW_ACCESS_KEY/);
    expect(() => resolveS3Config('s3://b-1', { env: { SCW_SECRET_KEY: 'top-secret-value' } })).not.toThrow(/top-secret-value/);
    expect(() => resolveS3Config('s3://b-1', { env: {} })).toThrow(/SCW_ACCESS_KEY and SCW_SECRET_KEY/);
  });

  test('bad region or endpoint are refused', () => {
    expect(() => resolveS3Config('s3://b-1', { region: 'FR PAR', env: creds })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => resolveS3Config('s3://b-1', { endpoint: 'ftp://x', env: creds })).toThrow(/https/);
    expect(() => resolveS3Config('s3://b-1', { endpoint: 'not a url', env: creds })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => resolveS3Config('s3://b-1', { endpoint: 'https://k:s@host', env: creds })).toThrow(/must not carry credentials/);
  });

  test('the client: one SDK attempt, path style, checksums only when required', async () => {
    const client: S3Client = makeS3Client(resolveS3Config('s3://b-1', { env: creds }));
    expect(await client.config.maxAttempts()).toBe(1);
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    client.destroy();
  });

  test('multipartEtag follows S3\'s md5-of-md5s-N form', () => {
    const data = Buffer.from('abcdefghij');
    const md5 = (b: Uint8Array): Buffer => createHash('md5').update(b).digest();
    const expected = createHash('md5').update(Buffer.concat([md5(data.subarray(0, 4)), md5(data.subarray(4, 8)), md5(data.subarray(8))])).digest('hex');
    expect(multipartEtag(data, 4)).toBe(`${expected}-3`);
  });
});

describe('retry', () => {
  const transient = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  test('full jitter stays under the doubling cap and the maximum', () => {
    expect(backoffDelay(0, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(400);
    expect(backoffDelay(10, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffDelay(2, 100, 1000, () => 0)).toBe(0);
  });

  test('retries transient errors, then succeeds, sleeping the jittered delays', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(async (attempt) => {
      calls++;
      if (attempt < 3) throw transient;
      return 'ok';
    }, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5, sleep: async (ms) => { sleeps.push(ms); } });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([50, 100]);
  });

  test('a non-retryable error is thrown at once, as is', async () => {
    const fatal = new ObjectExistsError('x');
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw fatal; }, { sleep: async () => undefined, isRetryable: isRetryableS3Error })).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  test('gives up after maxAttempts, or when the budget would be overrun', async () => {
    let calls = 0;
    const err = await withRetry(async () => { calls++; throw transient; }, { maxAttempts: 4, sleep: async () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(4);
    expect((err as RetriesExhaustedError).cause).toBe(transient);
    expect(calls).toBe(4);
    let clock = 0;
    calls = 0;
    const budget = await withRetry(async () => { calls++; throw transient; }, {
      maxAttempts: 100, baseDelayMs: 1000, maxDelayMs: 1000, budgetMs: 2500, random: () => 0.999,
      now: () => clock, sleep: async (ms) => { clock += ms; },
    }).catch((e: unknown) => e);
    expect(budget).toBeInstanceOf(RetriesExhaustedError);
    expect(calls).toBe(3);
  });

  test('what is transient', () => {
    const sdk = (name: string, status: number): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    for (const err of [transient, sdk('SlowDown', 503), sdk('InternalError', 500), sdk('ServiceUnavailable', 503), sdk('Whatever', 502),
      sdk('TooManyRequests', 429), Object.assign(new Error('timed out'), { name: 'TimeoutError' }), Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      sdk('RequestTimeout', 400), sdk('BadDigest', 400)]) {
      expect([err.message, isRetryableS3Error(err)]).toEqual([err.message, true]);
    }
    for (const err of [sdk('NoSuchBucket', 404), sdk('NoSuchKey', 404), sdk('AccessDenied', 403), sdk('InvalidAccessKeyId', 403),
      sdk('SignatureDoesNotMatch', 403), sdk('PermanentRedirect', 301), sdk('AuthorizationHeaderMalformed', 400), sdk('InvalidArgument', 400),
      sdk('NotImplemented', 501), sdk('PreconditionFailed', 412), Object.assign(new Error('aborted'), { name: 'AbortError' }), new NotFoundError('x')]) {
      expect([err.message, isRetryableS3Error(err)]).toEqual([err.message, false]);
    }
    expect(isTransientError(new Error('boom'))).toBe(false);
  });
});

test('a ranged get with a signal: stopping cuts the requests in flight, frees their slots, and rejects with the reason', async () => {
  const backend = backendAt(proxy.endpoint, { concurrency: 2 });
  try {
    await backend.put('held', randomBytes(4096));
    proxy.failNext(10, { kind: 'stall' }, { method: 'GET', url: /held/ });
    const controller = new AbortController();
    const reads = [0, 1, 2].map((i) => backend.get('held', { offset: i * 100, length: 100, signal: controller.signal }));
    await new Promise((res) => setTimeout(res, 100));
    const reason = new Error('stopped');
    controller.abort(reason);
    for (const r of reads) await expect(r).rejects.toBe(reason);
    // Both slots are free again: a delete goes through at once, not after the stalled reads' timeout.
    await backend.delete('held');
    expect(await backend.stat('held')).toBeUndefined();
  } finally {
    proxy.reset();
    await backend.close();
  }
});
