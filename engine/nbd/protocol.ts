/**
 * Constants of the NBD protocol (github.com/NetworkBlockDevice/nbd, doc/proto.md), by the section
 * that defines them. All integers are big-endian ("network byte order", proto.md "Conventions").
 */

/** "Newstyle negotiation": 'NBDMAGIC' then 'IHAVEOPT'; the client prefixes every option with IHAVEOPT. */
export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
/** "Fixed newstyle negotiation": the magic of every option reply. */
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;

/** "Handshake flags". */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;
/** "Client flags": the server MUST close the connection on a flag it does not know. */
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;

/** "Transmission flags". */
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
/** Every connection sees the same data (read-only: trivially), so clients may open several. */
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;

/** "Option types". */
export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;

/** "Option reply types". */
export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
export const NBD_REP_ERR_UNSUP = 2 ** 31 + 1;
export const NBD_REP_ERR_INVALID = 2 ** 31 + 3;
export const NBD_REP_ERR_UNKNOWN = 2 ** 31 + 6;
export const NBD_REP_ERR_TOO_BIG = 2 ** 31 + 9;

/** NBD_REP_INFO information types ("Option reply types", NBD_REP_INFO). */
export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_BLOCK_SIZE = 3;

/** "Request message" and "Simple reply message". */
export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
export const REQUEST_BYTES = 28;

/** "Request types". */
export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_CACHE = 5;
export const NBD_CMD_WRITE_ZEROES = 6;

/** "Error values". */
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_EINVAL = 22;
export const NBD_EOVERFLOW = 75;
export const NBD_ESHUTDOWN = 108;

/**
 * "Size constraints": we accept any alignment (minimum 1), prefer 4 KiB, and take reads up to the
 * default maximum payload of 32 MiB (larger: NBD_EOVERFLOW, as "Request types" NBD_CMD_READ allows).
 */
export const MIN_BLOCK = 1;
export const PREFERRED_BLOCK = 4096;
export const MAX_PAYLOAD = 32 * 1024 * 1024;

/** Option data we read at most: names are at most 4096 bytes ("Option types", NBD_OPT_INFO and NBD_OPT_GO). */
export const MAX_OPTION_BYTES = 64 * 1024;

/** A fixed newstyle option reply ("Fixed newstyle negotiation"). */
export function optionReply(option: number, type: number, data: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(20 + data.length);
  out.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  out.writeUInt32BE(option, 8);
  out.writeUInt32BE(type, 12);
  out.writeUInt32BE(data.length, 16);
  out.set(data, 20);
  return out;
}

/** A simple reply header ("Simple reply message"); a successful read's data follows it. */
export function simpleReply(error: number, cookie: bigint): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  out.writeUInt32BE(error, 4);
  out.writeBigUInt64BE(cookie, 8);
  return out;
}
