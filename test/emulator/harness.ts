/**
 * Test harness: the S3 test server with a bucket, the emulator in front of it, and the real Scaleway
 * SDK clients pointed at the emulator. Also fast waiters (the SDK's own wait for at least 1 s
 * between polls) and small qemu-img helpers.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Blockv1 } from '@scaleway/sdk-block';
import { createAdvancedClient, createClient, waitForResource, withHTTPClient, withProfile, type Client } from '@scaleway/sdk-client';
import { Iamv1alpha1 } from '@scaleway/sdk-iam';
import { Instancev1 } from '@scaleway/sdk-instance';
import { startS3Server, type S3TestServer, type S3UploadLimits } from '../rig/s3-server';
import { startEmulator, type Emulator, type EmulatorOptions } from './server';

export const run = promisify(execFile);

export interface Rig {
  s3: S3TestServer;
  emulator: Emulator;
  bucket: string;
  client: Client;
  block: Blockv1.API;
  instance: Instancev1.API;
  iam: Iamv1alpha1.API;
  s3client: S3Client;
  stop(): Promise<void>;
}

/** `s3Limits` lowers the S3 server's upload limits (test/rig/s3-limits.ts); the rest goes to the emulator. */
export async function startRig(options: Partial<EmulatorOptions> & { s3Limits?: Partial<S3UploadLimits> } = {}): Promise<Rig> {
  const { s3Limits, ...emulatorOptions } = options;
  const s3 = await startS3Server({ limits: s3Limits });
  const bucket = 'scwb-staging';
  await s3.createBucket(bucket);
  const emulator = await startEmulator({ s3, ...emulatorOptions });
  const client = clientFor(emulator);
  const s3client = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    s3,
    emulator,
    bucket,
    client,
    block: new Blockv1.API(client),
    instance: new Instancev1.API(client),
    iam: new Iamv1alpha1.API(client),
    s3client,
    async stop(): Promise<void> {
      s3client.destroy();
      await emulator.stop();
      await s3.stop();
    },
  };
}

/**
 * A Scaleway client for the emulator. By default it fetches through realmSafeFetch (see there);
 * `plain: true` gives exactly `createClient(profile)`, which is fine for everything but maps
 * (server.volumes) under jest.
 */
export function clientFor(emulator: Emulator, o: { secretKey?: string; accessKey?: string; plain?: boolean } = {}): Client {
  const profile = {
    accessKey: o.accessKey ?? emulator.credentials.accessKey,
    secretKey: o.secretKey ?? emulator.credentials.secretKey,
    defaultProjectId: emulator.credentials.projectId,
    defaultOrganizationId: emulator.credentials.organizationId,
    defaultRegion: 'fr-par' as const,
    defaultZone: 'fr-par-1' as const,
    apiURL: emulator.url,
  };
  if (o.plain) return createClient(profile);
  return createAdvancedClient(withProfile(profile), withHTTPClient(realmSafeFetch));
}

/**
 * Jest runs tests in a vm context, but the global fetch's `response.json()` builds its objects in
 * Node's main realm. The SDK's unmarshalMapOfObject checks `data instanceof Object` against the
 * test realm's Object, so every map in a response (Instance `server.volumes`, image
 * `extra_volumes`) comes out as {} under jest. This fetch parses JSON in the test realm instead.
 * Plain Node (the CLI, the Pulumi provider) is not affected.
 */
export async function realmSafeFetch(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
  const r = await fetch(input, init);
  const body = r.status === 204 || r.status === 304 ? null : await r.arrayBuffer();
  const local = new Response(body, { status: r.status, statusText: r.statusText, headers: r.headers });
  Object.defineProperty(local, 'json', { value: async (): Promise<unknown> => JSON.parse(await local.text()) });
  return local;
}

/** Poll every 10 ms (the SDK's waiters sleep at least 1 s). */
function* fastStrategy(): Generator<number, number, number> {
  for (;;) yield 0.01;
}

export function waitUntil<R, T>(fetcher: (r: R) => Promise<T>, request: R, done: (t: T) => boolean, timeoutSeconds = 20): Promise<T> {
  return waitForResource((t: T) => Promise.resolve(done(t)), fetcher, request, { timeout: timeoutSeconds }, fastStrategy());
}

export const BLOCK_SNAPSHOT_TRANSIENT = ['creating', 'deleting', 'exporting'];

export function waitBlockSnapshot(rig: Rig, snapshotId: string): Promise<Blockv1.Snapshot> {
  return waitUntil(rig.block.getSnapshot, { snapshotId }, (s) => !BLOCK_SNAPSHOT_TRANSIENT.includes(s.status));
}

export function waitBlockVolume(rig: Rig, volumeId: string): Promise<Blockv1.Volume> {
  return waitUntil(rig.block.getVolume, { volumeId }, (v) => v.status !== 'creating');
}

export function waitInstanceSnapshot(rig: Rig, snapshotId: string): Promise<Instancev1.GetSnapshotResponse> {
  return waitUntil(rig.instance.getSnapshot, { snapshotId }, (r) => !['snapshotting', 'importing', 'exporting'].includes(r.snapshot?.state ?? ''));
}

export async function getObject(rig: Rig, key: string): Promise<Buffer> {
  const out = await rig.s3client.send(new GetObjectCommand({ Bucket: rig.bucket, Key: key }));
  return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Deterministic test bytes with zero runs (holes) in between. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    if ((i >> 16) % 3 === 2) continue; // every third 64 KiB stays zero
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
