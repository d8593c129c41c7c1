/** Profile resolution, URLs, waiting (stopped, failed), and ranged reads of a staging object against s3rver (in process). */
import type { S3Client } from '@aws-sdk/client-s3';
import { InterruptedError, InvalidInputError } from '../../../engine';
import {
  ExportFailedError, ResourceFailedError, WaitTimeoutError, blockSnapshots, callScaleway, parseScalewayBlockUrl, regionOfZone, resolveScalewayProfile,
  waitForStatus, type ScalewayClients,
} from '../../../engine/scaleway';
import { makeS3Client, S3Backend } from '../../../engine/store/backends/s3';
import { S3ObjectReader } from '../../../engine/scaleway/s3-object-reader';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { prng } from '../../helpers';

const MiB = 1024 * 1024;
const KEY = 'SCWABCDEFGHIJ0123456';
const SECRET = '11111111-2222-4333-8444-555555555555';
const PROJECT = '22222222-3333-4444-8555-666666666666';

describe('resolveScalewayProfile', () => {
  const env = { SCW_ACCESS_KEY: KEY, SCW_SECRET_KEY: SECRET, SCW_DEFAULT_PROJECT_ID: PROJECT, SCW_DEFAULT_ZONE: 'nl-ams-2' };

  test('reads the scw CLI variables; options win', () => {
    expect(resolveScalewayProfile({ env })).toEqual({ accessKey: KEY, secretKey: SECRET, projectId: PROJECT, organizationId: undefined, zone: 'nl-ams-2', apiUrl: 'https://api.scaleway.com' });
    expect(resolveScalewayProfile({ env: { ...env, SCW_API_URL: 'http://127.0.0.1:9/' }, zone: 'pl-waw-1' })).toMatchObject({ zone: 'pl-waw-1', apiUrl: 'http://127.0.0.1:9' });
    expect(regionOfZone('fr-par-2')).toBe('fr-par');
  });

  test.each([
    [{ SCW_ACCESS_KEY: undefined }, /^SCW_ACCESS_KEY: is not set/],
    [{ SCW_ACCESS_KEY: 'AKIA123' }, /^SCW_ACCESS_KEY: is not an access key/],
    [{ SCW_SECRET_KEY: 'hunter2-not-a-uuid' }, /^SCW_SECRET_KEY: is not a secret key/],
    [{ SCW_DEFAULT_PROJECT_ID: 'proj' }, /^SCW_DEFAULT_PROJECT_ID: "proj" is not a project id/],
    [{ SCW_DEFAULT_ORGANIZATION_ID: 'org' }, /^SCW_DEFAULT_ORGANIZATION_ID: /],
    [{ SCW_DEFAULT_ZONE: 'fr-par' }, /^SCW_DEFAULT_ZONE: "fr-par" is not a Scaleway zone/],
    [{ SCW_API_URL: 'ftp://x' }, /^SCW_API_URL: /],
  ])('%j → InvalidInputError naming the variable', (change, message) => {
    let err: unknown;
    try {
      resolveScalewayProfile({ env: { ...env, ...change } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('hunter2');
  });
});

test('parseScalewayBlockUrl', () => {
  const id = '0d4b5c4e-1f2a-4b3c-8d9e-0123456789ab';
  expect(parseScalewayBlockUrl(`scaleway-block://fr-par-1/${id}`, true)).toEqual({ zone: 'fr-par-1', volumeId: id });
  expect(parseScalewayBlockUrl('scaleway-block://nl-ams-1', false)).toEqual({ zone: 'nl-ams-1', volumeId: undefined });
  expect(() => parseScalewayBlockUrl('scaleway-block://fr-par-1', true)).toThrow(/scaleway-block:\/\/fr-par-1: is not a Scaleway Block URL: expected scaleway-block:\/\/ZONE\/VOLUME_ID/);
  expect(() => parseScalewayBlockUrl(`scaleway-block://fr-par-1/${id}`, false)).toThrow(InvalidInputError);
  expect(() => parseScalewayBlockUrl('s3://x/y', true)).toThrow(InvalidInputError);
});

describe('waitForStatus', () => {
  function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
    let t = 0;
    const slept: number[] = [];
    return { now: () => t, sleep: async (ms) => { slept.push(ms); t += ms; }, slept };
  }

  test('backs off exponentially up to the maximum and times out naming resource, id and last status', async () => {
    const clock = fakeClock();
    const err = await waitForStatus({ resource: 'snapshot', id: 'snap-1', wanted: 'available', fetch: async () => ({ s: 'exporting' }), status: (x) => x.s, done: ['available'] },
      { minDelayMs: 100, maxDelayMs: 1000, timeoutMs: 5000, ...clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).lastStatus).toBe('exporting');
    expect((err as Error).message).toMatch(/^snapshot snap-1 is still "exporting" after 5 s/);
    expect(clock.slept.slice(0, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  test('an error status is a typed error; transient poll failures are retried', async () => {
    const clock = fakeClock();
    const answers: Array<string | Error> = [Object.assign(new Error('boom'), { status: 503 }), 'exporting', 'error'];
    const err = await waitForStatus({
      resource: 'snapshot', id: 'snap-2', wanted: 'export', done: ['available'], status: (x: string) => x,
      fetch: async () => { const a = answers.shift() as string | Error; if (a instanceof Error) throw a; return a; },
      onFailed: (s) => new ExportFailedError('snap-2', s, 'b', 'k.qcow2'),
    }, { minDelayMs: 10, ...clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportFailedError);
    expect((err as Error).message).toBe('snapshot snap-2 ended in status "error" while exporting to s3://b/k.qcow2');
  });
});

describe('stopping and failing waits', () => {
  test('a stop request ends a wait at once, with its reason, even in the middle of a one-minute backoff', async () => {
    const controller = new AbortController();
    let polls = 0;
    const waiting = waitForStatus({
      resource: 'snapshot', id: 'snap-3', wanted: 'available', done: ['available'], status: (x: string) => x,
      fetch: async () => { polls++; return 'exporting'; },
    }, { minDelayMs: 60_000, signal: controller.signal });
    await new Promise((res) => setTimeout(res, 20));
    controller.abort(new InterruptedError('SIGTERM'));
    await expect(waiting).rejects.toEqual(new InterruptedError('SIGTERM'));
    expect(polls).toBe(1);
    // A call does not start once stopped; its backoff ends too.
    let calls = 0;
    await expect(callScaleway('snapshot volume v', async () => { calls++; return 1; }, { signal: controller.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect(calls).toBe(0);
  });

  test('a Block snapshot or volume that turns `locked` fails the wait instead of running to the timeout', async () => {
    const clients = {
      profile: { projectId: 'p' },
      block: { getSnapshot: async () => ({ status: 'locked' }), createSnapshot: async () => ({ id: 's' }) },
    } as unknown as ScalewayClients;
    const err = await blockSnapshots(clients, 'fr-par-1').waitCreated('snap-4', { default: { minDelayMs: 60_000, timeoutMs: 3600_000 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceFailedError);
    expect((err as Error).message).toBe('snapshot snap-4 ended in status "locked" while waiting for available');
  });
});

describe('S3ObjectReader against s3rver', () => {
  let s3: S3TestServer;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createBucket('stream');
    client = makeS3Client({ bucket: 'stream', prefix: '', endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, credentialSource: 'options' });
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  test('ranged reads of an object stored with putRanged', async () => {
    const data = prng(3)(13 * MiB + 12345);
    const backend = new S3Backend({ bucket: 'stream', client, partSize: 5 * MiB });
    await backend.putRanged('via-backend.bin', data.length, async function* (start, end) {
      yield data.subarray(start, end);
    });
    const reader = await S3ObjectReader.open(backend, 'via-backend.bin');
    expect(reader.size).toBe(data.length);
    expect(Buffer.from(await reader.read(7 * MiB - 3, 4096)).equals(data.subarray(7 * MiB - 3, 7 * MiB - 3 + 4096))).toBe(true);
    await expect(reader.read(data.length - 10, 11)).rejects.toThrow(/runs past the end/);
  });
});
