import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { serveSnapshot } from '../../engine/serve';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { filterFrom, filterOptions, resolveSnapshot, type FilterFlags } from '../snapshot-filter';

interface ServeFlags extends RepoFlags, FilterFlags {
  nbd: string;
  /** false with --no-lock */
  lock: boolean;
}

/** "10809", "127.0.0.1:10809", "[::1]:10809" → host and port (loopback unless a host is given). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidInputError('--nbd', `"${text}" is not [HOST:]PORT, e.g. 127.0.0.1:10809`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function registerServe(program: Command): void {
  filterOptions(commonOptions(program.command('serve'))
    .description('serve a snapshot\'s disk read-only over NBD (qemu-img, nbdcopy, qemu-nbd, guestfish...) until Ctrl-C')
    .argument('<snapshot>', 'snapshot id (or unique prefix), or "latest" (the newest of those --source, --host and --tag select)'), 'with "latest": snapshots')
    .option('--nbd <[host:]port>', 'where to listen; loopback unless a host is given (docs/FILES.md: reach it from elsewhere through an SSH tunnel)', '127.0.0.1:10809')
    .option('--no-lock', 'read without locking the store (a read-only store or key); a prune running meanwhile makes reads fail, never return wrong data')
    .action(async (ref: string, flags: ServeFlags) => {
      const { host, port } = parseListen(flags.nbd);
      const out = new Output(!!flags.json);
      if (!LOOPBACK.test(host)) out.warning(`listening on ${host}: NBD has no encryption and no authentication here; anyone who can reach ${host}:${port} reads the disk (docs/FILES.md: use an SSH tunnel)`);
      const repo = await openRepo(flags);
      const snap = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'disk' });
      await serveSnapshot(repo, snap, {
        host, port, noLock: !flags.lock, signal: interruptSignal(), onWarning: (m) => out.warning(m),
        onListening: (a) => {
          const where = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
          out.text(`serving snapshot ${snap.id.slice(0, 12)} (${formatBytes(snap.size)}, read-only) at nbd://${where} ; Ctrl-C stops`);
          if (out.json) process.stdout.write(JSON.stringify({ type: 'serving', snapshotId: snap.id, host: a.host, port: a.port, uri: `nbd://${where}`, size: snap.size }) + '\n');
        },
      });
    });
}
