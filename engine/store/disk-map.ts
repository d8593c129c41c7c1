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

const HEADER_BYTES = MAGIC.length + 1 + 4;
/** kind (1), offset (u64 LE), length (u64 LE); a data extent's id follows. */
const EXTENT_BYTES = 17;
const MAX_PAGE_BYTES = HEADER_BYTES + MAP_PAGE_EXTENTS * (EXTENT_BYTES + ID_LENGTH);
const TWO_32 = 2 ** 32;

/**
 * Encodes a map page extent by extent, straight into the page's bytes (FORMAT.md §8): a backup
 * adds one extent per chunk, and keeps no object per extent.
 */
export class MapPageEncoder {
  private out: Buffer | undefined;
  private at = HEADER_BYTES;
  private count = 0;
  /** End of the last extent when it is a hole (a hole that follows it extends it), else -1. */
  private holeEnd = -1;

  get full(): boolean {
    return this.count >= MAP_PAGE_EXTENTS;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** Append an extent (check `full` first). */
  push(offset: number, length: number, id?: Uint8Array): void {
    if (this.full) throw new Error(`a map page holds at most ${MAP_PAGE_EXTENTS} extents`);
    const out = (this.out ??= Buffer.allocUnsafe(MAX_PAGE_BYTES));
    let o = this.at;
    out[o] = id ? 1 : 0;
    writeU64(out, o + 1, offset);
    writeU64(out, o + 9, length);
    o += EXTENT_BYTES;
    if (id) {
      out.set(id.length === ID_LENGTH ? id : id.subarray(0, ID_LENGTH), o);
      o += ID_LENGTH;
    }
    this.holeEnd = id ? -1 : offset + length;
    this.at = o;
    this.count++;
  }

  /** Lengthen the last extent by `length` when it is a hole that ends at `offset`; says whether it did. */
  extendHole(offset: number, length: number): boolean {
    if (this.holeEnd < 0 || this.holeEnd !== offset || !this.out) return false;
    const lengthAt = this.at - EXTENT_BYTES + 9;
    writeU64(this.out, lengthAt, readU64(this.out, lengthAt) + length);
    this.holeEnd += length;
    return true;
  }

  /** The encoded page; the encoder starts a new one. */
  finish(): Buffer {
    const out = this.out ?? Buffer.allocUnsafe(HEADER_BYTES);
    MAGIC.copy(out, 0);
    out[MAGIC.length] = VERSION;
    out.writeUInt32LE(this.count, MAGIC.length + 1);
    const page = out.subarray(0, this.at);
    this.out = undefined;
    this.at = HEADER_BYTES;
    this.count = 0;
    this.holeEnd = -1;
    return page;
  }
}

/** Disk offsets and lengths are below 2^53: two 32-bit halves, no BigInt. */
function writeU64(out: Buffer, at: number, value: number): void {
  out.writeUInt32LE(value >>> 0, at);
  out.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}

export function encodeMapPage(extents: readonly MapExtent[]): Buffer {
  const encoder = new MapPageEncoder();
  for (const e of extents) encoder.push(e.offset, e.length, e.id);
  return encoder.finish();
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
