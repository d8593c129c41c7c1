import type { Socket } from 'node:net';

/** The peer closed the connection (or it was destroyed) while we waited for bytes. */
export class ConnectionClosed extends Error {
  constructor() {
    super('connection closed');
  }
}

/**
 * Exact-length reads from a socket: `bytes(n)` resolves with the next n bytes. Incoming data is
 * queued; the socket is paused while more than `highWater` bytes wait, so a client that floods us
 * is held back by TCP instead of filling our memory.
 */
export class SocketReader {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private closed = false;

  constructor(private readonly socket: Socket, private readonly highWater = 1024 * 1024) {
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued > this.highWater) socket.pause();
      this.wake();
    });
    const end = () => {
      this.closed = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.queued >= w.n) {
      this.waiter = undefined;
      w.resolve(this.take(w.n));
    } else if (this.closed) {
      this.waiter = undefined;
      w.reject(new ConnectionClosed());
    }
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const head = this.queue[0];
      const k = Math.min(head.length, n - at);
      head.copy(out, at, 0, k);
      at += k;
      if (k === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(k);
    }
    this.queued -= n;
    if (this.queued <= this.highWater) this.socket.resume();
    return out;
  }

  /** The next `n` bytes; rejects with ConnectionClosed when the peer goes away first. */
  bytes(n: number): Promise<Buffer> {
    if (this.queued >= n) return Promise.resolve(this.take(n));
    if (this.closed) return Promise.reject(new ConnectionClosed());
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
      // More than highWater may be needed (a write payload to skip): let the data in.
      this.socket.resume();
    });
  }

  /** Read and drop `n` bytes, a piece at a time (a write payload we refuse). */
  async skip(n: number): Promise<void> {
    for (let left = n; left > 0;) {
      const k = Math.min(left, this.highWater);
      await this.bytes(k);
      left -= k;
    }
  }
}
