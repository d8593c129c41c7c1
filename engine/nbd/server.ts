import { createServer, type Server, type Socket } from 'node:net';
import type { DiskReader } from '../disk/disk-reader';
import { BackupError } from '../errors';
import { handshake, type ExportInfo } from './handshake';
import { ConnectionClosed, SocketReader } from './socket-reader';
import { ByteBudget, transmit } from './transmission';

export interface NbdServerOptions {
  host: string;
  port: number;
  /** The export's name and the other names accepted for it. */
  exportName: string;
  aliases?: string[];
  transmissionFlags: number;
  /** Connections at once; more are closed at once (default 16). */
  maxConnections?: number;
  /** A client must finish the handshake within this (default 30 s). */
  handshakeTimeoutMs?: number;
  /** Bytes of read payloads in flight across all connections (default 64 MiB). */
  maxBytesInFlight?: number;
  onWarning?: (message: string) => void;
  /** A read error that must stop the server (a lapsed lock, Ctrl-C): true stops it with that error. */
  isFatal?: (err: unknown) => boolean;
}

export interface NbdStats {
  connections: number;
  refused: number;
}

/**
 * A read-only NBD server for one export (doc/proto.md of github.com/NetworkBlockDevice/nbd). Each
 * connection runs the handshake (handshake.ts), then the transmission phase (transmission.ts). A
 * client that breaks the protocol or goes away mid-read is disconnected alone; the server stays up
 * until stop(), or until a read fails in a way that concerns every client (isFatal).
 */
export class NbdServer {
  readonly stats: NbdStats = { connections: 0, refused: 0 };
  /** Settles when the server has stopped: resolves after stop(), rejects with a fatal read error. */
  readonly stopped: Promise<void>;
  private readonly sockets = new Set<Socket>();
  private readonly budget: ByteBudget;
  private finish!: (err?: unknown) => void;
  private ending = false;

  private constructor(private readonly server: Server, private readonly disk: DiskReader, private readonly options: NbdServerOptions) {
    this.budget = new ByteBudget(options.maxBytesInFlight ?? 64 * 1024 * 1024);
    this.stopped = new Promise((resolve, reject) => {
      this.finish = (err) => (err === undefined ? resolve() : reject(err));
    });
    server.on('connection', (socket) => void this.serve(socket));
  }

  static async listen(disk: DiskReader, options: NbdServerOptions): Promise<NbdServer> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new BackupError('LISTEN_FAILED', `cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}`, { cause: err })));
      server.listen(options.port, options.host, () => resolve());
    });
    return new NbdServer(server, disk, options);
  }

  /** Where it listens (the port the system chose when asked for port 0). */
  get address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('not listening');
    return { host: a.address, port: a.port };
  }

  private async serve(socket: Socket): Promise<void> {
    if (this.ending || this.sockets.size >= (this.options.maxConnections ?? 16)) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.stats.connections++;
    const reader = new SocketReader(socket);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const exp: ExportInfo = { name: this.options.exportName, aliases: this.options.aliases ?? [], size: this.disk.size, flags: this.options.transmissionFlags };
    // A socket error (ECONNRESET of a client gone mid-reply) is handled where the read or write fails.
    socket.on('error', () => undefined);
    socket.setTimeout(this.options.handshakeTimeoutMs ?? 30_000, () => socket.destroy());
    try {
      const end = await handshake(socket, reader, exp);
      if (end === 'refused') this.options.onWarning?.(`NBD client ${peer} broke the handshake: disconnected`);
      if (end !== 'transmission') return;
      socket.setTimeout(0);
      await transmit(socket, reader, this.disk, {
        budget: this.budget,
        onViolation: (what) => this.options.onWarning?.(`NBD client ${peer} sent ${what}: disconnected`),
        onReadError: (err) => {
          if (this.options.isFatal?.(err)) void this.stop(err);
          else this.options.onWarning?.(`NBD read for ${peer} failed (the client got EIO): ${err instanceof Error ? err.message : String(err)}`);
        },
      });
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) this.options.onWarning?.(`NBD client ${peer}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.sockets.delete(socket);
      socket.destroy();
    }
  }

  /** Stop listening and disconnect every client; `err` makes `stopped` reject with it. */
  async stop(err?: unknown): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.finish(err);
  }
}
