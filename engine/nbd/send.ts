import type { Socket } from 'node:net';
import { ConnectionClosed } from './socket-reader';

/**
 * Write to the socket and wait until it has taken the bytes (backpressure: a slow client holds back
 * its own reads, not our memory). Rejects with ConnectionClosed when the client goes away first.
 */
export function send(socket: Socket, data: Uint8Array): Promise<void> {
  if (socket.destroyed) return Promise.reject(new ConnectionClosed());
  if (socket.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off('drain', drained);
      socket.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const drained = () => done();
    const closed = () => done(new ConnectionClosed());
    socket.on('drain', drained);
    socket.on('close', closed);
  });
}
