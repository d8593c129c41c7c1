import { createHash } from 'node:crypto';
import { Compressor, Decompressor } from '../compress';
import { ID_LENGTH } from '../crypto/chunk-id';
import { AAD, type Sealer } from '../crypto/seal';
import { DamagedObjectError } from '../errors';
import { BLOB_DATA, isBlobType, type BlobEntry, type BlobType } from './blob';
import { openObject, sealObject } from './sealed-object';

/** FORMAT.md §6: type (1) || id (32) || stored length (4) || plaintext length (4). */
const HEADER_ENTRY = 1 + ID_LENGTH + 4 + 4;

export function packPath(id: string): string {
  return `packs/${id.slice(0, 2)}/${id}`;
}

export interface FinishedPack {
  id: string;
  data: Buffer;
  blobs: BlobEntry[];
}

/**
 * Collects sealed blobs in a caller-provided buffer (reused across packs: fresh memory is slow to
 * touch on our VMs) until the pack is big enough, then appends the sealed header.
 */
export class PackBuilder {
  readonly blobs: BlobEntry[] = [];
  size = 0;

  constructor(public buffer: Buffer) {}

  add(type: BlobType, id: Uint8Array, sealed: Uint8Array, rawLength: number): BlobEntry {
    if (this.size + sealed.length > this.buffer.length) {
      // Only map blobs (up to ~800 KiB) can outgrow the slack left for one chunk: grow once.
      const bigger = Buffer.allocUnsafe(this.size + sealed.length + (1 << 20));
      this.buffer.copy(bigger, 0, 0, this.size);
      this.buffer = bigger;
    }
    const entry: BlobEntry = { type, id, offset: this.size, length: sealed.length, rawLength };
    this.buffer.set(sealed, this.size);
    this.blobs.push(entry);
    this.size += sealed.length;
    return entry;
  }

  get count(): number {
    return this.blobs.length;
  }

  /** The pack file; `data` is a view of the buffer when it fits (the usual case). */
  finish(sealer: Sealer, compressor: Compressor): FinishedPack {
    const [sealedHeader, tail] = packTrailer(this.blobs, sealer, compressor);
    const total = this.size + sealedHeader.length + 4;
    let data: Buffer;
    if (total <= this.buffer.length) {
      sealedHeader.copy(this.buffer, this.size);
      tail.copy(this.buffer, this.size + sealedHeader.length);
      data = this.buffer.subarray(0, total);
    } else {
      data = Buffer.concat([this.buffer.subarray(0, this.size), sealedHeader, tail]);
    }
    const id = createHash('sha256').update(data).digest('hex');
    return { id, data, blobs: this.blobs };
  }
}

/** What ends a pack after its blobs (FORMAT.md §6): the sealed header, then its length (4 bytes, LE). */
export function packTrailer(blobs: readonly BlobEntry[], sealer: Sealer, compressor: Compressor): [Buffer, Buffer] {
  const header = Buffer.allocUnsafe(blobs.length * HEADER_ENTRY);
  let p = 0;
  for (const b of blobs) {
    header[p] = b.type;
    header.set(b.id, p + 1);
    header.writeUInt32LE(b.length, p + 1 + ID_LENGTH);
    header.writeUInt32LE(b.rawLength, p + 5 + ID_LENGTH);
    p += HEADER_ENTRY;
  }
  const sealedHeader = sealObject(sealer, AAD.packHeader, header, compressor);
  const tail = Buffer.allocUnsafe(4);
  tail.writeUInt32LE(sealedHeader.length, 0);
  return [sealedHeader, tail];
}

/** Read a whole pack's header (for check and index repair), validating every bound. */
export function parsePackHeader(pack: Uint8Array, name: string, sealer: Sealer, decompressor: Decompressor): BlobEntry[] {
  const buf = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
  if (buf.length < 4 + sealer.overhead) throw new DamagedObjectError(name, `only ${buf.length} bytes, too short for a pack`);
  const headerLength = buf.readUInt32LE(buf.length - 4);
  if (headerLength > buf.length - 4 || headerLength < sealer.overhead) {
    throw new DamagedObjectError(name, `header length ${headerLength} does not fit in a ${buf.length}-byte pack`);
  }
  const headerStart = buf.length - 4 - headerLength;
  const header = openObject(sealer, AAD.packHeader, buf.subarray(headerStart, buf.length - 4), `${name} (header)`, decompressor);
  if (header.length % HEADER_ENTRY !== 0) throw new DamagedObjectError(name, `header of ${header.length} bytes is not a whole number of entries`);
  const blobs: BlobEntry[] = [];
  let offset = 0;
  for (let p = 0; p < header.length; p += HEADER_ENTRY) {
    const type = header[p];
    if (!isBlobType(type)) throw new DamagedObjectError(name, `unknown blob type ${type}`);
    const length = header.readUInt32LE(p + 1 + ID_LENGTH);
    const rawLength = header.readUInt32LE(p + 5 + ID_LENGTH);
    if (offset + length > headerStart) throw new DamagedObjectError(name, `blob ${blobs.length} runs into the header`);
    blobs.push({ type: type === BLOB_DATA ? BLOB_DATA : type, id: Buffer.from(header.subarray(p + 1, p + 1 + ID_LENGTH)), offset, length, rawLength });
    offset += length;
  }
  if (offset !== headerStart) throw new DamagedObjectError(name, `blobs end at ${offset} but the header starts at ${headerStart}`);
  return blobs;
}
