import { ID_LENGTH } from '../crypto/chunk-id';
import { DamagedObjectError } from '../errors';

/** One extent of a snapshot's disk map (FORMAT.md §8): a data chunk or a hole. */
export interface MapExtent {
  offset: number;
  length: number;
  /** Blob id of the data chunk; undefined for a hole. */
  id?: Uint8Array;
}

const MAGIC = Buffer.from('SCWM');
const VERSION = 1;
/** A map blob holds at most this many extents, so pages stay under ~1 MiB. */
export const MAP_PAGE_EXTENTS = 16384;

export function encodeMapPage(extents: readonly MapExtent[]): Buffer {
  let size = MAGIC.length + 1 + 4;
  for (const e of extents) size += 17 + (e.id ? ID_LENGTH : 0);
  const out = Buffer.allocUnsafe(size);
  let o = MAGIC.copy(out, 0);
  out[o++] = VERSION;
  o = out.writeUInt32LE(extents.length, o);
  for (const e of extents) {
    out[o++] = e.id ? 1 : 0;
    o = out.writeBigUInt64LE(BigInt(e.offset), o);
    o = out.writeBigUInt64LE(BigInt(e.length), o);
    if (e.id) {
      out.set(e.id, o);
      o += ID_LENGTH;
    }
  }
  return out;
}

/**
 * Decode a map page and check it covers exactly [start, start + length) with extents in order, no
 * gaps, no overlaps: a map that passes this cannot make restore write outside the disk.
 */
export function decodeMapPage(payload: Buffer, name: string, start: number, length: number): MapExtent[] {
  const fail = (what: string): never => {
    throw new DamagedObjectError(name, what);
  };
  if (payload.length < 9 || !payload.subarray(0, 4).equals(MAGIC)) fail('not a disk map page (bad magic)');
  if (payload[4] !== VERSION) fail(`map page version ${payload[4]} is not supported`);
  const count = payload.readUInt32LE(5);
  if (count > MAP_PAGE_EXTENTS) fail(`${count} extents, more than the ${MAP_PAGE_EXTENTS} a page may hold`);
  const out: MapExtent[] = [];
  let o = 9;
  let expected = start;
  for (let i = 0; i < count; i++) {
    if (o + 17 > payload.length) fail(`truncated at extent ${i}`);
    const kind = payload[o];
    const offset = Number(payload.readBigUInt64LE(o + 1));
    const len = Number(payload.readBigUInt64LE(o + 9));
    o += 17;
    if (kind > 1) fail(`extent ${i} has unknown kind ${kind}`);
    if (offset !== expected || len <= 0 || offset + len > start + length) fail(`extent ${i} (${offset}+${len}) does not follow on from ${expected} inside the page`);
    let id: Uint8Array | undefined;
    if (kind === 1) {
      if (o + ID_LENGTH > payload.length) fail(`truncated in extent ${i}`);
      id = payload.subarray(o, o + ID_LENGTH);
      o += ID_LENGTH;
    }
    out.push({ offset, length: len, id });
    expected = offset + len;
  }
  if (expected !== start + length) fail(`extents end at ${expected}, the page should end at ${start + length}`);
  if (o !== payload.length) fail(`${payload.length - o} trailing bytes`);
  return out;
}
