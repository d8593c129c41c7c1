import { InterruptedError, InvalidInputError } from './errors';
import { NBD_FLAG_CAN_MULTI_CONN, NBD_FLAG_HAS_FLAGS, NBD_FLAG_READ_ONLY } from './nbd/protocol';
import { NbdServer, type NbdStats } from './nbd/server';
import { SnapshotReader } from './source/snapshot-reader';
import { LockExpiredError } from './store/locks';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import type { Snapshot } from './store/snapshot';

export interface ServeOptions {
  /** Address to listen on (default 127.0.0.1: only this machine; docs/FILES.md says how to reach it safely). */
  host?: string;
  /** TCP port (default 10809, NBD's; 0: any free port). */
  port?: number;
  /** Read without locking the store (a read-only store or key). */
  noLock?: boolean;
  /** Ctrl-C or SIGTERM: stop listening, disconnect the clients, release the lock. */
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
  /** Told where the server listens, once it does. */
  onListening?: (address: { host: string; port: number; exportName: string }) => void;
  maxConnections?: number;
  cacheBytes?: number;
}

/**
 * Serve a snapshot's disk, read-only, over NBD (docs/FILES.md) until `signal` aborts: then throws the
 * signal's reason, as every interrupted command does. Holds a shared lock on the store the whole
 * time, refreshed every 5 minutes (FORMAT.md §9), so prune cannot remove what clients read; a lock
 * that lapses stops the server (LOCK_EXPIRED).
 */
export async function serveSnapshot(repo: Repository, snapshot: Snapshot, options: ServeOptions = {}): Promise<NbdStats> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 10809;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError('--nbd', `port ${port} is not a TCP port (0–65535)`);
  return withLock(repo, { operation: 'serve', reader: true, noLock: options.noLock, snapshot, warn: options.onWarning, signal: options.signal }, async (lock) => {
    await repo.loadIndex();
    options.signal?.throwIfAborted();
    const reader = new SnapshotReader(repo, snapshot, { lock, signal: options.signal, cacheBytes: options.cacheBytes });
    const server = await NbdServer.listen(reader, {
      host, port, exportName: snapshot.id, aliases: ['', snapshot.id.slice(0, 12)],
      transmissionFlags: NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY | NBD_FLAG_CAN_MULTI_CONN,
      maxConnections: options.maxConnections, onWarning: options.onWarning,
      isFatal: (err) => err instanceof LockExpiredError || err instanceof InterruptedError || options.signal?.aborted === true,
    });
    const stop = () => void server.stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      options.onListening?.({ ...server.address, exportName: snapshot.id });
      await server.stopped;
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await server.stop();
      await reader.close();
    }
    options.signal?.throwIfAborted();
    return server.stats;
  });
}
