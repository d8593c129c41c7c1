/**
 * Index tables (FORMAT.md §7.1): the encodings of entries, blocks, pack-list pages and the manifest.
 * Pure functions over bytes; table-writer.ts and table-reader.ts do the I/O.
 */
import { ID_LENGTH } from '../../crypto/chunk-id';
import { DamagedObjectError } from '../../errors';
import { isBlobType, type BlobEntry } from '../blob';

export const ENTRY_BYTES = 1 + ID_LENGTH + 4 + 4 + 4 + 4;
export const ENTRIES_PER_BLOCK = 80;
export const BLOCK_BYTES = ENTRIES_PER_BLOCK * ENTRY_BYTES;
export const PACKS_PER_PAGE = 2048;
export const PAGE_BYTES = PACKS_PER_PAGE * ID_LENGTH;
/** Shard number in the AAD of the pack list's pages. */
export const PACK_LIST_SHARD = 0xffffffff;
/** The top bits of an id that pick its shard: at most 4,096 shards. */
export const MAX_SHARD_BITS = 12;
/** About this many entries per shard when a table is written. */
export const ENTRIES_PER_SHARD = 1 << 20;
const MAGIC = Buffer.from('SCWT');
const VERSION = 1;
const BLOCK_AAD = Buffer.from('scw-backup index-block v2');

/** Shard bits for a table of `entries`: about ENTRIES_PER_SHARD each. */
export function shardBitsFor(entries: number): number {
  let bits = 0;
  while (bits < MAX_SHARD_BITS && entries / 2 ** bits > ENTRIES_PER_SHARD) bits++;
  return bits;
}

/** The shard of an id: its top `bits` bits. */
export function shardOf(id: Uint8Array, bits: number): number {
  if (bits === 0) return 0;
  return (((id[0] << 8) | id[1]) >>> (16 - bits));
}

/** AAD of block `block` of shard `shard` (or a pack-list page, shard PACK_LIST_SHARD). */
export function blockAad(tableId: Uint8Array, shard: number, block: number): Buffer {
  const aad = Buffer.allocUnsafe(BLOCK_AAD.length + ID_LENGTH + 8);
  BLOCK_AAD.copy(aad, 0);
  aad.set(tableId, BLOCK_AAD.length);
  aad.writeUInt32LE(shard, BLOCK_AAD.length + ID_LENGTH);
  aad.writeUInt32LE(block, BLOCK_AAD.length + ID_LENGTH + 4);
  return aad;
}

export function writeEntry(out: Buffer, at: number, blob: BlobEntry, packNumber: number): void {
  out[at] = blob.type;
  out.set(blob.id, at + 1);
  let o = at + 1 + ID_LENGTH;
  o = out.writeUInt32LE(packNumber, o);
  o = out.writeUInt32LE(blob.offset, o);
  o = out.writeUInt32LE(blob.length, o);
  out.writeUInt32LE(blob.rawLength, o);
}

export interface TableEntry {
  blob: BlobEntry;
  packNumber: number;
}

/** Entry `i` of a decoded block (its id is a view into `block`). */
export function readEntry(block: Buffer, i: number, where: string): TableEntry {
  const at = i * ENTRY_BYTES;
  const type = block[at];
  if (!isBlobType(type)) throw new DamagedObjectError(where, `unknown blob type ${type} in entry ${i}`);
  const o = at + 1 + ID_LENGTH;
  return {
    blob: { type, id: block.subarray(at + 1, o), offset: block.readUInt32LE(o + 4), length: block.readUInt32LE(o + 8), rawLength: block.readUInt32LE(o + 12) },
    packNumber: block.readUInt32LE(o),
  };
}

/** -1, 0, 1: how the id of entry `i` of `block` compares with `id`. */
export function compareEntryId(block: Buffer, i: number, id: Uint8Array): number {
  return Buffer.compare(block.subarray(i * ENTRY_BYTES + 1, i * ENTRY_BYTES + 1 + ID_LENGTH), id);
}

export interface ShardInfo {
  /** Name (SHA-256, hex) of the shard object. */
  object: string;
  entries: number;
  /** First 8 bytes of each block's first id, block after block. */
  firstIds: Buffer;
}

export interface TableManifest {
  tableId: Buffer;
  entries: number;
  packs: number;
  /** Name (SHA-256, hex) of the pack list object. */
  packList: string;
  shardBits: number;
  shards: ShardInfo[];
}

export function blocksOf(entries: number): number {
  return Math.ceil(entries / ENTRIES_PER_BLOCK);
}

export function encodeManifest(m: TableManifest): Buffer {
  let size = MAGIC.length + 1 + ID_LENGTH + 8 + 4 + ID_LENGTH + 1;
  for (const s of m.shards) size += ID_LENGTH + 4 + s.firstIds.length;
  const out = Buffer.allocUnsafe(size);
  let o = MAGIC.copy(out, 0);
  out[o++] = VERSION;
  o += m.tableId.copy(out, o);
  o = out.writeBigUInt64LE(BigInt(m.entries), o);
  o = out.writeUInt32LE(m.packs, o);
  o += Buffer.from(m.packList, 'hex').copy(out, o);
  out[o++] = m.shardBits;
  for (const s of m.shards) {
    o += Buffer.from(s.object, 'hex').copy(out, o);
    o = out.writeUInt32LE(s.entries, o);
    o += s.firstIds.copy(out, o);
  }
  return out;
}

/** Decode and check a manifest: every count against the bytes there, the shards against the bits. */
export function decodeManifest(payload: Buffer, name: string): TableManifest {
  const fail = (what: string): never => {
    throw new DamagedObjectError(name, what);
  };
  const head = MAGIC.length + 1 + ID_LENGTH + 8 + 4 + ID_LENGTH + 1;
  if (payload.length < head || !payload.subarray(0, 4).equals(MAGIC)) fail('not an index table (bad magic)');
  if (payload[4] !== VERSION) fail(`index table version ${payload[4]} is not supported`);
  let o = 5;
  const tableId = Buffer.from(payload.subarray(o, o + ID_LENGTH));
  o += ID_LENGTH;
  const entries = Number(payload.readBigUInt64LE(o));
  o += 8;
  const packs = payload.readUInt32LE(o);
  o += 4;
  const packList = payload.toString('hex', o, o + ID_LENGTH);
  o += ID_LENGTH;
  const shardBits = payload[o++];
  if (shardBits > MAX_SHARD_BITS) fail(`${shardBits} shard bits is more than ${MAX_SHARD_BITS}`);
  const shards: ShardInfo[] = [];
  let total = 0;
  for (let i = 0; i < 2 ** shardBits; i++) {
    if (o + ID_LENGTH + 4 > payload.length) fail(`truncated at shard ${i}`);
    const object = payload.toString('hex', o, o + ID_LENGTH);
    o += ID_LENGTH;
    const count = payload.readUInt32LE(o);
    o += 4;
    const firstBytes = blocksOf(count) * 8;
    if (o + firstBytes > payload.length) fail(`shard ${i} lists ${count} entries but the manifest ends first`);
    shards.push({ object, entries: count, firstIds: Buffer.from(payload.subarray(o, o + firstBytes)) });
    o += firstBytes;
    total += count;
  }
  if (o !== payload.length) fail(`${payload.length - o} trailing bytes`);
  if (total !== entries) fail(`its shards hold ${total} entries, not ${entries}`);
  return { tableId, entries, packs, packList, shardBits, shards };
}
