/**
 * `npm run emulator`: a local S3 server with a staging bucket and the Scaleway API emulator in front
 * of it, for trying the CLI or the Pulumi provider by hand. Prints the environment to use (shell
 * `export` lines, or JSON with --json) and runs until interrupted.
 *
 *   node dist/test/emulator/cli.js [--port N] [--bucket NAME] [--json] [--writer auto|qemu-img|builtin]
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

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const bucket = option(args, '--bucket') ?? 'scw-backup-staging';
  const port = Number(option(args, '--port') ?? '0');
  const writer = (option(args, '--writer') ?? 'auto') as Qcow2Writer;

  const s3 = await startS3Server();
  // The rig's own test key is not Scaleway-shaped; register one that is, with the same secret, so
  // SCW_ACCESS_KEY/SCW_SECRET_KEY work for both the API and the bucket.
  (require('s3rver/lib/models/account') as S3rverAccountModule).DUMMY_ACCOUNT.createKeyPair(ACCESS_KEY, s3.secretAccessKey);
  await s3.createBucket(bucket);
  const emulator = await startEmulator({
    s3,
    accessKey: ACCESS_KEY,
    secretKey: s3.secretAccessKey,
    projectId: randomUUID(),
    organizationId: randomUUID(),
    qcow2Writer: writer,
    port,
  });

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
  };
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(env)}\n`);
  else {
    process.stdout.write(`# Scaleway API emulator and local S3 are running. Ctrl-C stops both (and forgets everything).\n`);
    for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${v}\n`);
  }

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await emulator.stop();
    await s3.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
