/**
 * The S3 side of the `s3` case: the local S3 server of the tests (test/rig/s3-server.ts, s3rver,
 * running inside this process) behind the test fault proxy (test/rig/fault-proxy.ts) with no faults
 * queued, only to count the requests our CLI makes. The CLI talks to the proxy; the bench itself
 * (store size, clean-up) talks to the server directly, so its own requests are not counted.
 *
 * s3rver runs in this process: every child must be spawned asynchronously (bench/exec.ts run() is),
 * a spawnSync would block the event loop and the child's requests would never be answered.
 */
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startFaultProxy, type FaultProxy } from '../test/rig/fault-proxy';
import { startS3Server, type S3TestServer } from '../test/rig/s3-server';
import { BenchError } from './exec';
import type { RequestCounts, StoreSite } from './measure';

export const S3_BUCKET = 'bench';

export interface BenchS3 extends StoreSite {
  /** The s3rver endpoint (not counted). */
  serverEndpoint: string;
  /** The proxy endpoint our CLI is pointed at (counted). */
  proxyEndpoint: string;
  /** What the CLI child needs in its environment to reach the bucket through the proxy. */
  env: Record<string, string>;
  /** `s3://bench/run-N`. */
  storeUrl(run: number): string;
  stop(): Promise<void>;
}

function prefixOf(store: string): string {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(store);
  if (!m || m[1] !== S3_BUCKET) throw new BenchError(`not a bench S3 store: ${store}`);
  return `${m[2].replace(/\/+$/, '')}/`;
}

/** A GET on the bucket itself (no key) is a listing (ListObjectsV2). */
function requestKind(method: string, url: string): string {
  const pathPart = url.split('?')[0].replace(/^\/+/, '');
  if (method === 'GET' && !pathPart.replace(/\/+$/, '').includes('/')) return 'LIST';
  return method;
}

export async function startBenchS3(): Promise<BenchS3> {
  // The CLI's bin sets this too: no "Node version support" notice from the SDK in the bench's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server: S3TestServer = await startS3Server();
  let proxy: FaultProxy | undefined;
  let client: S3Client | undefined;
  try {
    await server.createBucket(S3_BUCKET);
    proxy = await startFaultProxy(server.endpoint);
    client = new S3Client({
      region: server.region,
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  } catch (e) {
    await proxy?.stop();
    await server.stop();
    throw e;
  }
  const p = proxy;
  const s3 = client;

  async function* objects(store: string): AsyncGenerator<{ key: string; size: number }> {
    const Prefix = prefixOf(store);
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix, ContinuationToken }));
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0 };
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  return {
    serverEndpoint: server.endpoint,
    proxyEndpoint: p.endpoint,
    env: {
      SCW_ACCESS_KEY: server.accessKeyId,
      SCW_SECRET_KEY: server.secretAccessKey,
      SCW_BACKUP_S3_ENDPOINT: p.endpoint,
      SCW_DEFAULT_REGION: server.region,
    },
    storeUrl: (run) => `s3://${S3_BUCKET}/run-${run}`,

    /** Sum of the sizes of the objects listed under the store's prefix: what a byte-billed bucket holds. */
    async bytes(store) {
      let total = 0;
      for await (const o of objects(store)) total += o.size;
      return total;
    },

    async remove(store) {
      const keys: string[] = [];
      for await (const o of objects(store)) keys.push(o.key);
      for (let i = 0; i < keys.length; i += 16) {
        await Promise.all(keys.slice(i, i + 16).map((Key) => s3.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key }))));
      }
    },

    startCounting() {
      p.reset();
    },

    counted(): RequestCounts {
      const byMethod: Record<string, number> = {};
      for (const r of p.requests) {
        const k = requestKind(r.method, r.url);
        byMethod[k] = (byMethod[k] ?? 0) + 1;
      }
      return { total: p.requests.length, byMethod, maxInFlight: p.maxInFlight };
    },

    async stop() {
      s3.destroy();
      await p.stop();
      await server.stop();
    },
  };
}
