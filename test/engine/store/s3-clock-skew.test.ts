/**
 * A host whose clock is off by more than S3's 15 minutes. The server refuses requests signed with it:
 * RequestTimeTooSkewed in the body, or a bare 403 for a HEAD. The AWS SDK moves the client's clock
 * offset to the server's time from the answer and flags the error (and the errors of requests that
 * were in flight meanwhile) `clockSkewCorrected` (@aws-sdk/core AwsSdkSigV4Signer.errorHandler), and
 * the backend retries those. What still fails must be reported as a clock problem, never as rejected
 * credentials: an answer the SDK does not correct from (one with an `Age` header:
 * getUpdatedSystemClockOffset), or a skew every retry met. The host's clock is moved with libfaketime
 * in a child process; s3rver enforces the 15 minutes as S3 does.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { s3BackendFromUrl } from '../../../engine/store/backends/s3';
import { S3ClockSkewError } from '../../../engine/store/backends/s3-errors';
import { shiftedClock } from '../../helpers';
import { s3Error, startFaultProxy, type FaultProxy } from '../../rig/fault-proxy';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';

const exec = promisify(execFile);
const BUCKET = 'scwb-skew';
const NAMES = Array.from({ length: 8 }, (_, i) => `data/${i}`);
let server: S3TestServer;
let proxy: FaultProxy;
let prefix: string;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  proxy = await startFaultProxy(server.endpoint);
  prefix = randomBytes(6).toString('hex');
  const b = backend(server.endpoint);
  for (const n of NAMES) await b.put(n, new Uint8Array([1, 2, 3]));
  await b.close();
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

const options = (endpoint: string, maxAttempts = 5) => ({
  endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey,
  retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 },
});
const backend = (endpoint: string, maxAttempts = 5) => s3BackendFromUrl(`s3://${BUCKET}/${prefix}`, { ...options(endpoint, maxAttempts), env: {} });

/** HEADs then GETs of every name, all at once, from a process whose clock runs `offset` off. */
async function fromSkewedHost(offset: string, maxAttempts: number): Promise<{ sizes?: number[]; lengths?: number[]; error?: { code: string; message: string } }> {
  const env = { ...process.env, ...shiftedClock(offset), SKEW_SPEC: JSON.stringify({ url: `s3://${BUCKET}/${prefix}`, names: NAMES, options: options(server.endpoint, maxAttempts) }) };
  const r = await exec(process.execPath, [join(__dirname, 'fixtures', 'skewed-s3.js')], { env });
  return JSON.parse(r.stdout) as { sizes?: number[]; lengths?: number[]; error?: { code: string; message: string } };
}

test('a host 2h ahead: parallel HEADs and GETs all succeed once the SDK has corrected its clock', async () => {
  expect(await fromSkewedHost('+2h', 5)).toEqual({ sizes: NAMES.map(() => 3), lengths: NAMES.map(() => 3) });
});

test('a skew every attempt met is a clock error naming the offset, not rejected credentials nor an outage', async () => {
  const r = await fromSkewedHost('+2h', 1);
  expect(r.error?.code).toBe('S3_CLOCK_SKEWED');
  expect(r.error?.message).toMatch(/^this machine's clock is about 2h ahead of http:\/\/127\.0\.0\.1:\d+'s \(S3 refuses requests signed more than 15 minutes off, stat data\/\d in s3:\/\/scwb-skew\/\w+\): set the time \(NTP\) and try again$/);
});

test('RequestTimeTooSkewed the SDK does not correct from (an answer with Age) is a clock error, not retried', async () => {
  const b = backend(proxy.endpoint);
  const serverTime = new Date(Date.now() + 3 * 3_600_000).toISOString();
  proxy.reset();
  proxy.failNext(1, s3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.',
    { RequestTime: new Date().toISOString(), ServerTime: serverTime }, { Age: '0' }));
  const err = await b.get('data/0').then(() => undefined, (e: unknown) => e);
  await b.close();
  expect(err).toBeInstanceOf(S3ClockSkewError);
  expect((err as S3ClockSkewError).message).toMatch(/^this machine's clock is about 3h behind /);
  expect(proxy.requests).toHaveLength(1);
});
