import { FileRangeReader } from './range-reader';
import type { DiskSource, DiskSourceInfo, Extent } from './disk-source';

/**
 * A raw disk image file: the file's bytes are the guest disk. Node has no SEEK_DATA/SEEK_HOLE, so
 * the whole file is one extent; all-zero chunks still become holes in the snapshot.
 */
export class RawFileSource implements DiskSource {
  readonly info: DiskSourceInfo;

  private constructor(private readonly reader: FileRangeReader) {
    this.info = { format: 'raw', location: reader.location };
  }

  static async open(path: string): Promise<RawFileSource> {
    return new RawFileSource(await FileRangeReader.open(path));
  }

  static fromReader(reader: FileRangeReader): RawFileSource {
    return new RawFileSource(reader);
  }

  get size(): number {
    return this.reader.size;
  }

  async *extents(): AsyncIterable<Extent> {
    if (this.size > 0) yield { offset: 0, length: this.size };
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    return this.reader.readInto(offset, into);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
