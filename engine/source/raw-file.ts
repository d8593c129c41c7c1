import { FileRangeReader } from './range-reader';
import type { DiskSource, DiskSourceInfo, Extent, FormatReason } from './disk-source';

/**
 * A raw disk image file: the file's bytes are the guest disk. The file's holes (SEEK_DATA/SEEK_HOLE,
 * native/sparse.c) are not read; all-zero chunks in its data still become holes in the snapshot.
 */
export class RawFileSource implements DiskSource {
  readonly info: DiskSourceInfo;

  private constructor(private readonly reader: FileRangeReader, formatReason?: FormatReason) {
    this.info = { format: 'raw', location: reader.location, ...(formatReason ? { formatReason } : {}) };
  }

  static async open(path: string): Promise<RawFileSource> {
    return new RawFileSource(await FileRangeReader.open(path));
  }

  /** `formatReason`: why the caller reads the file as raw (recorded in the snapshot manifest). */
  static fromReader(reader: FileRangeReader, formatReason?: FormatReason): RawFileSource {
    return new RawFileSource(reader, formatReason);
  }

  get size(): number {
    return this.reader.size;
  }

  private dataBytes: number | undefined;

  /** The bytes of the file's data extents (its holes are never read). */
  get expectedReadBytes(): number {
    if (this.dataBytes === undefined) {
      let n = 0;
      for (const e of this.reader.dataExtents()) n += e.length;
      this.dataBytes = n;
    }
    return this.dataBytes;
  }

  async *extents(): AsyncIterable<Extent> {
    yield* this.reader.dataExtents();
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    return this.reader.readInto(offset, into);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
