/**
 * `npm run emulator`: a local S3 server with a staging bucket and the Scaleway API emulator in front
 * of it, for trying the CLI or the Pulumi provider by hand. Prints the environment to use (shell
 * `export` lines, or JSON with --json) and runs until interrupted.
 *
 *   node dist/test/emulator/cli.js [--port N] [--bucket NAME] [--json] [--writer auto|qemu-img|builtin]
 */
import { startPlayground } from './playground';
import type { Qcow2Writer } from './qcow2-io';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const playground = await startPlayground({
    bucket: option(args, '--bucket'),
    port: Number(option(args, '--port') ?? '0'),
    writer: (option(args, '--writer') ?? 'auto') as Qcow2Writer,
  });
  const { env } = playground;
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ ...env, volumeId: playground.volumeId, serverId: playground.serverId })}\n`);
  else {
    process.stdout.write('# Scaleway API emulator and local S3 are running. Ctrl-C stops both (and forgets everything).\n');
    process.stdout.write(`# It holds a 64 MiB Block volume ${playground.volumeId} (web-data) used by the running server ${playground.serverId} (web-1),\n`);
    process.stdout.write('# a staging bucket and a store bucket. In another shell, at the repository\'s root:\n');
    for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${JSON.stringify(v)}\n`);
    process.stdout.write('# then, one after the other:\n');
    for (const line of playground.walkthrough) process.stdout.write(`${line}\n`);
    process.stdout.write('# A server restored with `restore GROUP_ID --to scaleway-instance://fr-par-1 --new-server NAME` comes up stopped;\n');
    process.stdout.write('# the emulator\'s admin API ($SCW_EMULATOR_ADMIN_URL) creates more volumes and servers (test/emulator/README.md).\n');
  }

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await playground.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
