import type { Socket } from 'node:net';
import type { DiskReader } from '../disk/disk-reader';
import {
  MAX_PAYLOAD, NBD_CMD_DISC, NBD_CMD_READ, NBD_CMD_TRIM, NBD_CMD_WRITE, NBD_CMD_WRITE_ZEROES, NBD_EINVAL, NBD_EIO, NBD_EOVERFLOW, NBD_EPERM,
  NBD_REQUEST_MAGIC, REQUEST_BYTES, simpleReply,
} from './protocol';
import { send } from './send';
import type { SocketReader } from './socket-reader';

/** "Command flags" bits 0–4 (FUA, NO_HOLE, DF, REQ_ONE, FAST_ZERO): harmless on a read; any other is refused. */
const KNOWN_COMMAND_FLAGS = 0x1f;

/** Bytes of read payloads in flight across all connections: waits instead of allocating past the bound. */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  async take(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.max) await new Promise<void>((res) => this.waiting.push(res));
    this.used += n;
  }

  give(n: number): void {
    this.used -= n;
    this.waiting.splice(0).forEach((wake) => wake());
  }
}

export interface TransmissionOptions {
  budget: ByteBudget;
  /** A read failed: the client got NBD_EIO; the server decides whether to go on (a damaged chunk) or stop (a lapsed lock). */
  onReadError: (err: unknown) => void;
  /** The client broke the protocol (we hang up): said as a warning. */
  onViolation: (what: string) => void;
}

/**
 * The transmission phase ("Transmission", "Request message", "Simple reply message") of a read-only
 * export: NBD_CMD_READ answered with simple replies (zeros in holes), NBD_CMD_DISC ends it; writes,
 * trims and write-zeroes get NBD_EPERM (their payload read and dropped), anything else NBD_EINVAL.
 * Requests are served one at a time per connection, so a connection holds at most one payload.
 * Returns when the client disconnects (softly or not).
 */
export async function transmit(socket: Socket, reader: SocketReader, disk: DiskReader, options: TransmissionOptions): Promise<void> {
  for (;;) {
    const h = await reader.bytes(REQUEST_BYTES);
    if (h.readUInt32BE(0) !== NBD_REQUEST_MAGIC) {
      // No way to find the next request in the stream: "Terminating the transmission phase" allows a hard disconnect.
      options.onViolation(`a request with magic 0x${h.readUInt32BE(0).toString(16)}`);
      return;
    }
    const flags = h.readUInt16BE(4);
    const type = h.readUInt16BE(6);
    const cookie = h.readBigUInt64BE(8);
    const offset = h.readBigUInt64BE(16);
    const length = h.readUInt32BE(24);
    const reply = (error: number) => send(socket, simpleReply(error, cookie));
    switch (type) {
      case NBD_CMD_READ: {
        if ((flags & ~KNOWN_COMMAND_FLAGS) !== 0) await reply(NBD_EINVAL);
        else if (length > MAX_PAYLOAD) await reply(NBD_EOVERFLOW);
        else if (offset + BigInt(length) > BigInt(disk.size)) await reply(NBD_EINVAL);
        else await read(socket, disk, Number(offset), length, cookie, options);
        break;
      }
      case NBD_CMD_DISC:
        return;
      case NBD_CMD_WRITE:
        if (length > MAX_PAYLOAD) {
          options.onViolation(`a write of ${length} bytes, more than the ${MAX_PAYLOAD}-byte maximum payload`);
          return;
        }
        await reader.skip(length);
        await reply(NBD_EPERM);
        break;
      case NBD_CMD_TRIM:
      case NBD_CMD_WRITE_ZEROES:
        await reply(NBD_EPERM);
        break;
      default:
        await reply(NBD_EINVAL);
    }
  }
}

async function read(socket: Socket, disk: DiskReader, offset: number, length: number, cookie: bigint, options: TransmissionOptions): Promise<void> {
  await options.budget.take(length);
  try {
    const data = Buffer.allocUnsafe(length);
    try {
      await disk.read(offset, data);
    } catch (err) {
      options.onReadError(err);
      await send(socket, simpleReply(NBD_EIO, cookie));
      return;
    }
    await send(socket, Buffer.concat([simpleReply(0, cookie), data]));
  } finally {
    options.budget.give(length);
  }
}
