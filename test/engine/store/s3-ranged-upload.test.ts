/**
 * The ranged multipart upload against s3rver with Object Storage's limits enforced in front of it
 * (test/rig/s3-limits.ts), lowered so that a few MiB reach them: part sizes chosen to fit the part
 * count, the server refusing what does not fit, parts built again when sent again, bounded pieces.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client, type UploadPartCommand } from '@aws-sdk/client-s3';
import { InterruptedError } from '../../../engine';
import { makeS3Client, ObjectTooLargeError, SCALEWAY_MULTIPART } from '../../../engine/store/backends/s3';
import { partSizeFor } from '../../../engine/store/backends/s3-limits';
import { uploadRanged, type RangeProducer } from '../../../engine/store/backends/s3-ranged-upload';
import { startFaultProxy, type FaultProxy } from '../../rig/fault-proxy';
import { startS3Server, type S3TestServer } from '../../rig/s3-server';
import { prng } from '../../helpers';

const MiB = 1024 * 1024;
const FAST = { baseDelayMs: 1, maxDelayMs: 5 };
/** Lowered for the test: 4 parts of 5-8 MiB, so a 32 MiB object is the largest one. */
const SMALL = { maxParts: 4, minPartSize: 5 * MiB, maxPartSize: 8 * MiB, maxObjectSize: 32 * MiB };

describe('partSizeFor: the part size an object needs under the limits', () => {
  test("Scaleway's limits: 16 MiB parts while they fit in 1000, then whole MiB, up to 5 GB parts for 5 TB", () => {
    expect(partSizeFor(10 * 1024 * MiB)).toBe(16 * MiB);
    expect(partSizeFor(20 * 1024 * MiB)).toBe(21 * MiB);
    // A 1 TB image: 1000 parts of ~954 MiB (the old 10 000-part plan sent 10 000 parts of 100 MB, refused by Scaleway).
    const tb = partSizeFor(1e12);
    expect(tb % MiB).toBe(0);
    expect(Math.ceil(1e12 / tb)).toBeLessThanOrEqual(1000);
    expect(tb).toBeGreaterThanOrEqual(1e12 / 1000);
    // 5 TB exactly: parts of exactly the 5 GB maximum (a whole MiB would not fit under it).
    expect(partSizeFor(5e12)).toBe(5e9);
    expect(() => partSizeFor(5e12 + 1)).toThrow(ObjectTooLargeError);
    expect(() => partSizeFor(10e12, SCALEWAY_MULTIPART, undefined, 'a 10 TB image')).toThrow(/a 10 TB image is 10000000000000 bytes: Object Storage takes at most 5000000000000 bytes in one object/);
  });

  test('the lowered limits of the tests below', () => {
    expect(partSizeFor(30 * MiB, SMALL, 5 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(12 * MiB, SMALL, 5 * MiB)).toBe(5 * MiB);
    expect(() => partSizeFor(32 * MiB + 1, SMALL, 5 * MiB)).toThrow(ObjectTooLargeError);
  });
});

describe('uploadRanged against s3rver with the limits enforced', () => {
  let s3: S3TestServer;
  let proxy: FaultProxy;
  let client: S3Client;
  let viaProxy: S3Client;
  beforeAll(async () => {
    s3 = await startS3Server({ limits: { maxParts: SMALL.maxParts, maxPartSize: SMALL.maxPartSize, maxObjectSize: SMALL.maxObjectSize } });
    await s3.createBucket('ranged');
    proxy = await startFaultProxy(s3.endpoint);
    const config = { bucket: 'ranged', prefix: '', region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, credentialSource: 'options' };
    client = makeS3Client({ ...config, endpoint: s3.endpoint });
    viaProxy = makeS3Client({ ...config, endpoint: proxy.endpoint });
  });
  afterAll(async () => {
    client.destroy();
    viaProxy.destroy();
    await proxy.stop();
    await s3.stop();
  });
  beforeEach(() => proxy.reset());

  /** A producer over `data` in pieces of `piece` bytes, counting the calls per start offset. */
  function producer(data: Buffer, piece = 1 * MiB): RangeProducer & { calls: Map<number, number> } {
    const calls = new Map<number, number>();
    const read = async function* (start: number, end: number): AsyncGenerator<Uint8Array> {
      calls.set(start, (calls.get(start) ?? 0) + 1);
      for (let at = start; at < end; at += piece) yield Buffer.from(data.subarray(at, Math.min(end, at + piece)));
    };
    return Object.assign(read, { calls });
  }

  async function stored(key: string): Promise<Buffer> {
    const out = await client.send(new GetObjectCommand({ Bucket: 'ranged', Key: key }));
    return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }

  test('an object that needs the largest parts: 4 parts of the 8 MiB maximum, stored whole', async () => {
    const data = prng(1)(30 * MiB + 4321);
    const progress: number[] = [];
    const r = await uploadRanged({ client, bucket: 'ranged', key: 'largest.bin', length: data.length, read: producer(data), limits: SMALL, partSize: 5 * MiB, retry: FAST, onProgress: (b) => progress.push(b) });
    expect(r).toEqual({ size: data.length, parts: 4, partSize: 8 * MiB });
    expect((await stored('largest.bin')).equals(data)).toBe(true);
    expect(s3.uploads.completed.find((u) => u.key === 'largest.bin')?.partSizes).toEqual([8 * MiB, 8 * MiB, 8 * MiB, data.length - 24 * MiB]);
    expect(progress[progress.length - 1]).toBe(data.length);
  });

  test('the server refuses what does not fit: a fifth part, a part over the maximum, a small part before the last', async () => {
    const data = prng(2)(30 * MiB);
    // Planned for 1000 parts of 5 MiB (the engine's limits wrong for this server): part 5 is refused.
    await expect(uploadRanged({ client, bucket: 'ranged', key: 'too-many.bin', length: data.length, read: producer(data), limits: SCALEWAY_MULTIPART, partSize: 5 * MiB, retry: FAST, partsInFlight: 1 }))
      .rejects.toMatchObject({ name: 'InvalidArgument', message: expect.stringMatching(/between 1 and 4/) });
    // Parts of 10 MiB: over this server's 8 MiB.
    await expect(uploadRanged({ client, bucket: 'ranged', key: 'too-big.bin', length: data.length, read: producer(data), limits: { ...SMALL, maxParts: 1000, maxPartSize: 5e9 }, partSize: 10 * MiB, retry: FAST }))
      .rejects.toMatchObject({ name: 'EntityTooLarge' });
    // Parts of 1 MiB (engine told 1 MiB is fine): Complete refuses them.
    const small = data.subarray(0, 3 * MiB);
    await expect(uploadRanged({ client, bucket: 'ranged', key: 'too-small.bin', length: small.length, read: producer(small, 256 * 1024), limits: { ...SMALL, minPartSize: 1 * MiB }, partSize: 1 * MiB, retry: FAST }))
      .rejects.toMatchObject({ name: 'EntityTooSmall' });
    for (const key of ['too-many.bin', 'too-big.bin', 'too-small.bin']) {
      await expect(client.send(new HeadObjectCommand({ Bucket: 'ranged', Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    }
    expect(s3.uploads.refused).toEqual(expect.arrayContaining(['InvalidArgument', 'EntityTooLarge', 'EntityTooSmall']));
  });

  test('an object over the limits is refused before any request', async () => {
    const before = proxy.requests.length;
    const read = producer(Buffer.alloc(0));
    await expect(uploadRanged({ client: viaProxy, bucket: 'ranged', key: 'huge.bin', length: 32 * MiB + 1, read, limits: SMALL, retry: FAST })).rejects.toThrow(ObjectTooLargeError);
    expect(proxy.requests.length).toBe(before);
    expect(read.calls.size).toBe(0);
  });

  test('a part whose answer is lost, or cut, is built again and sent again; the object is whole', async () => {
    const data = prng(3)(20 * MiB + 99);
    const read = producer(data);
    proxy.failNext(1, { kind: 'drop-response' }, { method: 'PUT', url: /partNumber=2&/ });
    proxy.failNext(1, { kind: 'reset-request' }, { method: 'PUT', url: /partNumber=3&/ });
    const r = await uploadRanged({ client: viaProxy, bucket: 'ranged', key: 'retried.bin', length: data.length, read, limits: SMALL, partSize: 5 * MiB, retry: FAST });
    expect(r.parts).toBe(4);
    expect((await stored('retried.bin')).equals(data)).toBe(true);
    expect(read.calls.get(0)).toBe(1);
    expect(read.calls.get(r.partSize)).toBe(2);
    expect(read.calls.get(2 * r.partSize)).toBe(2);
    // Parts go as streams of known length: Content-Length set, no aws-chunked framing, no buffered MD5.
    const part = proxy.requests.find((q) => q.method === 'PUT' && /partNumber=1&/.test(q.url));
    expect(part?.headers['content-length']).toBe(String(r.partSize));
    expect(part?.headers['content-encoding']).toBeUndefined();
    expect(part?.headers['transfer-encoding']).toBeUndefined();
  });

  test('a BadDigest answer sends the part again', async () => {
    const data = prng(4)(12 * MiB);
    const read = producer(data);
    proxy.failNext(1, { kind: 'error', status: 400, code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' }, { method: 'PUT', url: /partNumber=1&/ });
    await uploadRanged({ client: viaProxy, bucket: 'ranged', key: 'digest.bin', length: data.length, read, limits: SMALL, partSize: 5 * MiB, retry: FAST });
    expect(read.calls.get(0)).toBe(2);
    expect((await stored('digest.bin')).equals(data)).toBe(true);
  });

  test('a producer that fails mid-part: its error, the upload aborted, nothing stored', async () => {
    const read: RangeProducer = async function* (start) {
      yield Buffer.alloc(1 * MiB, 1);
      if (start > 0) throw new Error('chunk 1234 is damaged');
      yield Buffer.alloc(4 * MiB, 1);
    };
    await expect(uploadRanged({ client, bucket: 'ranged', key: 'broken.bin', length: 12 * MiB, read, limits: SMALL, partSize: 5 * MiB, retry: FAST })).rejects.toThrow('chunk 1234 is damaged');
    await expect(client.send(new HeadObjectCommand({ Bucket: 'ranged', Key: 'broken.bin' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  test('a stop request ends the upload with its reason and aborts it', async () => {
    const data = prng(5)(20 * MiB);
    const controller = new AbortController();
    const read: RangeProducer = async function* (start, end) {
      for (let at = start; at < end; at += MiB) {
        if (at >= 6 * MiB) controller.abort(new InterruptedError('SIGTERM'));
        yield Buffer.from(data.subarray(at, Math.min(end, at + MiB)));
      }
    };
    await expect(uploadRanged({ client: viaProxy, bucket: 'ranged', key: 'stopped.bin', length: data.length, read, limits: SMALL, partSize: 5 * MiB, retry: FAST, signal: controller.signal }))
      .rejects.toBeInstanceOf(InterruptedError);
    expect(proxy.requests.some((q) => q.method === 'DELETE' && /uploadId=/.test(q.url))).toBe(true);
    await expect(client.send(new HeadObjectCommand({ Bucket: 'ranged', Key: 'stopped.bin' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  test('small objects go up as one PUT with Content-MD5', async () => {
    const data = prng(6)(1000);
    expect(await uploadRanged({ client: viaProxy, bucket: 'ranged', key: 'small.bin', length: data.length, read: producer(data, 100), limits: SMALL, retry: FAST }))
      .toEqual({ size: 1000, parts: 1, partSize: 5 * MiB });
    expect(proxy.requests.find((q) => q.method === 'PUT')?.headers['content-md5']).toBeDefined();
    expect((await stored('small.bin')).equals(data)).toBe(true);
  });
});

test('a part streams one piece ahead of the socket, whatever its size: memory does not grow with the part', async () => {
  // A client whose socket drains slowly: the producer may only be a piece or two ahead of it.
  let produced = 0;
  let consumed = 0;
  let ahead = 0;
  const fake = {
    async send(command: UploadPartCommand | { input: Record<string, unknown> }) {
      const input = command.input as { Body?: unknown; PartNumber?: number };
      if (input.Body instanceof Readable) {
        for await (const chunk of input.Body) {
          consumed += (chunk as Buffer).length;
          ahead = Math.max(ahead, produced - consumed);
          await new Promise((r) => setImmediate(r));
        }
        return { ETag: undefined };
      }
      return { UploadId: 'u1' };
    },
  } as unknown as S3Client;
  const piece = 1 * MiB;
  const read: RangeProducer = async function* (start, end) {
    for (let at = start; at < end; at += piece) {
      const n = Math.min(piece, end - at);
      produced += n;
      yield Buffer.alloc(n);
    }
  };
  // One 64 MiB part of a 2 TB object's worth of limits: 64 pieces, never more than ~2 in memory.
  await uploadRanged({ client: fake, bucket: 'ranged', key: 'k', length: 64 * MiB + 1, read, partSize: 64 * MiB, partsInFlight: 1, retry: FAST });
  expect(produced).toBe(64 * MiB + 1);
  expect(ahead).toBeLessThanOrEqual(2 * piece);
});
