/**
 * The emulator, the S3 server and the engine's Scaleway clients pointed at them, as the Scaleway
 * flow tests use them: the real SDK clients (with the jest-safe fetch), a staging backend with small
 * multipart parts, and a listing of the staging bucket.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createScalewayClients, resolveScalewayProfile, stagingBackend, type ScalewayClients, type ScalewayProfile } from '../../../engine/scaleway';
import type { MultipartLimits, S3Backend } from '../../../engine/store/backends/s3';
import { realmSafeFetch, startRig, type Rig } from '../../emulator/harness';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../../rig/s3-server';
import { join } from 'node:path';
import { initRepository, type Repository } from '../../../engine';
import { PASS, TEST_INIT, tempDir } from '../../helpers';

const MiB = 1024 * 1024;

/** Polls every 5-40 ms, gives up after 20 s: the emulator's transitions take milliseconds. */
export const FAST = { default: { minDelayMs: 5, maxDelayMs: 40, timeoutMs: 20_000 } };

export interface ScalewayTestRig {
  rig: Rig;
  /** A store in a temporary folder, removed by stop(). */
  repo: Repository;
  profile: ScalewayProfile;
  clients: ScalewayClients;
  staging: S3Backend;
  /** Keys in the staging bucket. */
  bucketKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * `s3Limits` lowers the S3 server's upload limits and gives the staging backend the same ones;
 * `transferLimit` lowers the emulator's export/import limit.
 */
export async function startScalewayRig(o: { s3Limits?: MultipartLimits; transferLimit?: number } = {}): Promise<ScalewayTestRig> {
  const rig = await startRig({ accessKey: TEST_ACCESS_KEY, s3Limits: o.s3Limits, transferLimit: o.transferLimit });
  const dir = await tempDir('scwb-scw-');
  const repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
  const profile = resolveScalewayProfile({
    accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY, projectId: rig.emulator.credentials.projectId,
    organizationId: rig.emulator.credentials.organizationId, zone: 'fr-par-1', apiUrl: rig.emulator.url, env: {},
  });
  const clients = createScalewayClients(profile, { fetch: realmSafeFetch });
  // 5 MiB parts: restored images of a few MiB go up as real multipart uploads.
  const staging = stagingBackend(profile, rig.bucket, { endpoint: rig.s3.endpoint, env: {}, partSize: 5 * MiB, retry: { baseDelayMs: 1, maxDelayMs: 5 }, limits: o.s3Limits });
  return {
    rig, repo, profile, clients, staging,
    async bucketKeys() {
      const out = await rig.s3client.send(new ListObjectsV2Command({ Bucket: rig.bucket }));
      return (out.Contents ?? []).map((o) => o.Key ?? '');
    },
    async stop() {
      await staging.close();
      await rig.stop();
      await dir.cleanup();
    },
  };
}
