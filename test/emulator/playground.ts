/**
 * What `npm run emulator` starts (cli.ts): the local S3 server with a staging bucket and a store
 * bucket, the Scaleway API emulator in front of it, and something to back up — a sample Block
 * volume with data and a server using it — plus the environment and a walkthrough that works as
 * printed (test/emulator/playground.test.ts runs it).
 */
import { randomUUID } from 'node:crypto';
import { startS3Server } from '../rig/s3-server';
import type { Qcow2Writer } from './qcow2-io';
import { startEmulator } from './server';

interface S3rverAccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

/** A Scaleway-shaped access key (`SCW` + 17 characters): the SDK refuses anything else. */
const ACCESS_KEY = 'SCWEMULATOR000000001';
/** The store bucket the README's examples use (s3://backups/prod). */
export const STORE_BUCKET = 'backups';
const MiB = 1024 * 1024;

export interface PlaygroundOptions {
  bucket?: string;
  port?: number;
  writer?: Qcow2Writer;
  /** How the walkthrough runs the CLI (default: from the repository's root). */
  cli?: string;
}

export interface Playground {
  env: Record<string, string>;
  volumeId: string;
  serverId: string;
  /** Shell lines to paste after the exports, each a command that works as printed. */
  walkthrough: string[];
  stop(): Promise<void>;
}

/** 64 MiB of disk: 8 MiB of text at its start, 1 MiB of it repeated at 32 MiB, the rest never written. */
function sampleDisk(): Buffer {
  const disk = Buffer.alloc(64 * MiB);
  const line = Buffer.from('a line of the sample volume of the scw-backup emulator, with some numbers: 0123456789\n');
  for (let i = 0; i < 8 * MiB; i++) disk[i] = line[i % line.length];
  disk.copy(disk, 32 * MiB, 0, MiB);
  return disk;
}

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  const bucket = options.bucket ?? 'scw-backup-staging';
  const s3 = await startS3Server();
  // The rig's own test key is not Scaleway-shaped; register one that is, with the same secret, so
  // SCW_ACCESS_KEY/SCW_SECRET_KEY work for both the API and the buckets.
  (require('s3rver/lib/models/account') as S3rverAccountModule).DUMMY_ACCOUNT.createKeyPair(ACCESS_KEY, s3.secretAccessKey);
  await s3.createBucket(bucket);
  await s3.createBucket(STORE_BUCKET);
  const emulator = await startEmulator({
    s3,
    accessKey: ACCESS_KEY,
    secretKey: s3.secretAccessKey,
    projectId: randomUUID(),
    organizationId: randomUUID(),
    qcow2Writer: options.writer ?? 'auto',
    port: options.port ?? 0,
  });
  const volume = await emulator.createVolume({ name: 'web-data', bytes: sampleDisk() });
  const server = emulator.createServer({ name: 'web-1', volumeIds: [volume.id], state: 'running' });
  const env: Record<string, string> = {
    SCW_API_URL: emulator.url,
    SCW_ACCESS_KEY: emulator.credentials.accessKey,
    SCW_SECRET_KEY: emulator.credentials.secretKey,
    SCW_DEFAULT_PROJECT_ID: emulator.credentials.projectId,
    SCW_DEFAULT_ORGANIZATION_ID: emulator.credentials.organizationId,
    SCW_DEFAULT_ZONE: 'fr-par-1',
    SCW_DEFAULT_REGION: s3.region,
    SCW_BACKUP_S3_ENDPOINT: s3.endpoint,
    SCW_BACKUP_BUCKET: bucket,
    SCW_EMULATOR_ADMIN_URL: emulator.adminUrl,
    SCW_BACKUP_PASSWORD: 'an emulator passphrase',
  };
  const cli = options.cli ?? 'node bin/scw-backup.js';
  const repo = `s3://${STORE_BUCKET}/prod`;
  return {
    env,
    volumeId: volume.id,
    serverId: server.id,
    walkthrough: [
      `${cli} init --repo ${repo}`,
      `${cli} backup --repo ${repo} scaleway-block://fr-par-1/${volume.id}`,
      `${cli} restore --repo ${repo} latest --to scaleway-block://fr-par-1 --name web-data-restored`,
      `${cli} backup --repo ${repo} scaleway-instance://fr-par-1/${server.id}`,
      `${cli} snapshots --repo ${repo}`,
    ],
    async stop(): Promise<void> {
      await emulator.stop();
      await s3.stop();
    },
  };
}
