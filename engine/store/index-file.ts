import { ID_LENGTH } from '../crypto/chunk-id';
import { DamagedObjectError } from '../errors';
import { isBlobType, type BlobEntry } from './blob';

/** FORMAT.md §7. */
const MAGIC = Buffer.from('SCWI');
const VERSION = 1;
const BLOB_RECORD = 1 + ID_LENGTH + 4 + 4 + 4;

export interface IndexedPack {
  /** hex */
  id: string;
  blobs: BlobEntry[];
}

export function encodeIndex(packs: readonly IndexedPack[]): Buffer {
  let size = MAGIC.length + 1 + 4;
  for (const p of packs) size += ID_LENGTH + 4 + p.blobs.length * BLOB_RECORD;
  const out = Buffer.allocUnsafe(size);
  let o = MAGIC.copy(out, 0);
  out[o++] = VERSION;
  o = out.writeUInt32LE(packs.length, o);
  for (const p of packs) {
    o += Buffer.from(p.id, 'hex').copy(out, o);
    o = out.writeUInt32LE(p.blobs.length, o);
    for (const b of p.blobs) {
      out[o++] = b.type;
      out.set(b.id, o);
      o += ID_LENGTH;
      o = out.writeUInt32LE(b.offset, o);
      o = out.writeUInt32LE(b.length, o);
      o = out.writeUInt32LE(b.rawLength, o);
    }
  }
  return out;
}

/** Decode an index payload, checking every count against the bytes actually there. */
export function decodeIndex(payload: Buffer, name: string, visit: (packId: string, blob: BlobEntry) => void): number {
  const fail = (what: string): never => {
    throw new DamagedObjectError(name, what);
  };
  if (payload.length < MAGIC.length + 5 || !payload.subarray(0, 4).equals(MAGIC)) fail('not an index file (bad magic)');
  if (payload[4] !== VERSION) fail(`index version ${payload[4]} is not supported`);
  const packCount = payload.readUInt32LE(5);
  let o = 9;
  for (let i = 0; i < packCount; i++) {
    if (o + ID_LENGTH + 4 > payload.length) fail(`truncated at pack ${i} of ${packCount}`);
    const packId = payload.toString('hex', o, o + ID_LENGTH);
    o += ID_LENGTH;
    const count = payload.readUInt32LE(o);
    o += 4;
    if (o + count * BLOB_RECORD > payload.length) fail(`pack ${packId} lists ${count} blobs but the file ends first`);
    for (let j = 0; j < count; j++) {
      const type = payload[o];
      if (!isBlobType(type)) fail(`unknown blob type ${type} in pack ${packId}`);
      const id = payload.subarray(o + 1, o + 1 + ID_LENGTH);
      o += 1 + ID_LENGTH;
      visit(packId, { type: type as BlobEntry['type'], id, offset: payload.readUInt32LE(o), length: payload.readUInt32LE(o + 4), rawLength: payload.readUInt32LE(o + 8) });
      o += 12;
    }
  }
  if (o !== payload.length) fail(`${payload.length - o} trailing bytes`);
  return packCount;
}
