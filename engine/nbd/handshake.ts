import type { Socket } from 'node:net';
import {
  IHAVEOPT, MAX_OPTION_BYTES, MAX_PAYLOAD, MIN_BLOCK, NBDMAGIC, NBD_FLAG_C_FIXED_NEWSTYLE, NBD_FLAG_C_NO_ZEROES, NBD_FLAG_FIXED_NEWSTYLE,
  NBD_FLAG_NO_ZEROES, NBD_INFO_BLOCK_SIZE, NBD_INFO_EXPORT, NBD_OPT_ABORT, NBD_OPT_EXPORT_NAME, NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_LIST,
  NBD_REP_ACK, NBD_REP_ERR_INVALID, NBD_REP_ERR_TOO_BIG, NBD_REP_ERR_UNKNOWN, NBD_REP_ERR_UNSUP, NBD_REP_INFO, NBD_REP_SERVER, PREFERRED_BLOCK,
  optionReply,
} from './protocol';
import type { SocketReader } from './socket-reader';
import { send } from './send';

/** The one export a server offers: a snapshot, under its id (the empty name is the default export). */
export interface ExportInfo {
  name: string;
  /** Other names accepted for it (the empty default name, the snapshot id's short form). */
  aliases: string[];
  size: number;
  /** Transmission flags ("Transmission flags"). */
  flags: number;
}

/** Why a handshake ended without transmission: the client aborted, or broke the protocol (then we hang up). */
export type HandshakeEnd = 'transmission' | 'aborted' | 'refused';

/**
 * The fixed newstyle handshake ("Fixed newstyle negotiation") up to the transmission phase: options
 * NBD_OPT_EXPORT_NAME, NBD_OPT_GO and NBD_OPT_INFO (with NBD_INFO_EXPORT, and NBD_INFO_BLOCK_SIZE when
 * asked), NBD_OPT_LIST and NBD_OPT_ABORT; any other option gets NBD_REP_ERR_UNSUP. A client that
 * breaks the protocol (bad magic, unknown client flags, an oversized option) is disconnected.
 */
export async function handshake(socket: Socket, reader: SocketReader, exp: ExportInfo): Promise<HandshakeEnd> {
  const hello = Buffer.alloc(18);
  hello.writeBigUInt64BE(NBDMAGIC, 0);
  hello.writeBigUInt64BE(IHAVEOPT, 8);
  hello.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
  await send(socket, hello);
  const clientFlags = (await reader.bytes(4)).readUInt32BE(0);
  // "Newstyle negotiation": the server MUST close the connection on client flags it does not recognise.
  if ((clientFlags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) !== 0) return 'refused';
  const noZeroes = (clientFlags & NBD_FLAG_C_NO_ZEROES) !== 0;
  const known = (name: string) => name === exp.name || exp.aliases.includes(name);
  for (;;) {
    const header = await reader.bytes(16);
    if (header.readBigUInt64BE(0) !== IHAVEOPT) return 'refused';
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    if (length > MAX_OPTION_BYTES) {
      await send(socket, optionReply(option, NBD_REP_ERR_TOO_BIG));
      return 'refused';
    }
    const data = await reader.bytes(length);
    switch (option) {
      case NBD_OPT_EXPORT_NAME: {
        // "Newstyle negotiation": an export the server will not allow ends the session.
        if (!known(data.toString('utf8'))) return 'refused';
        const reply = Buffer.alloc(noZeroes ? 10 : 134);
        reply.writeBigUInt64BE(BigInt(exp.size), 0);
        reply.writeUInt16BE(exp.flags, 8);
        await send(socket, reply);
        return 'transmission';
      }
      case NBD_OPT_ABORT:
        await send(socket, optionReply(option, NBD_REP_ACK));
        return 'aborted';
      case NBD_OPT_LIST: {
        if (length !== 0) {
          await send(socket, optionReply(option, NBD_REP_ERR_INVALID));
          break;
        }
        const name = Buffer.from(exp.name, 'utf8');
        const server = Buffer.alloc(4 + name.length);
        server.writeUInt32BE(name.length, 0);
        name.copy(server, 4);
        await send(socket, Buffer.concat([optionReply(option, NBD_REP_SERVER, server), optionReply(option, NBD_REP_ACK)]));
        break;
      }
      case NBD_OPT_INFO:
      case NBD_OPT_GO: {
        const request = parseInfoRequest(data);
        if (!request) {
          await send(socket, optionReply(option, NBD_REP_ERR_INVALID));
          break;
        }
        if (!known(request.name)) {
          await send(socket, optionReply(option, NBD_REP_ERR_UNKNOWN));
          break;
        }
        const info = Buffer.alloc(12);
        info.writeUInt16BE(NBD_INFO_EXPORT, 0);
        info.writeBigUInt64BE(BigInt(exp.size), 2);
        info.writeUInt16BE(exp.flags, 10);
        const replies = [optionReply(option, NBD_REP_INFO, info)];
        if (request.infos.includes(NBD_INFO_BLOCK_SIZE)) {
          const sizes = Buffer.alloc(14);
          sizes.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
          sizes.writeUInt32BE(MIN_BLOCK, 2);
          sizes.writeUInt32BE(PREFERRED_BLOCK, 6);
          sizes.writeUInt32BE(MAX_PAYLOAD, 10);
          replies.push(optionReply(option, NBD_REP_INFO, sizes));
        }
        replies.push(optionReply(option, NBD_REP_ACK));
        await send(socket, Buffer.concat(replies));
        if (option === NBD_OPT_GO) return 'transmission';
        break;
      }
      default:
        await send(socket, optionReply(option, NBD_REP_ERR_UNSUP));
    }
  }
}

/** NBD_OPT_INFO/GO data: u32 name length, name, u16 count, count × u16 info types; undefined when malformed. */
function parseInfoRequest(data: Buffer): { name: string; infos: number[] } | undefined {
  if (data.length < 6) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) return undefined;
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 6 + nameLength + 2 * count) return undefined;
  const infos = Array.from({ length: count }, (_, i) => data.readUInt16BE(6 + nameLength + 2 * i));
  return { name: data.toString('utf8', 4, 4 + nameLength), infos };
}
