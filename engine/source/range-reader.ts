import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DamagedObjectError, InvalidInputError } from '../errors';
import { userPathError } from '../fs-errors';
import type { Extent } from './disk-source';
import { blockDeviceSize } from './block-device';
import { fileDataExtents } from './file-extents';

/**
 * Random access to the bytes of a container file (a raw image, a QCOW2 file, an S3 object).
 * Container parsers (qcow2/) read through this, never through `fs` directly, so the same parser
 * works on a local file and on a bucket object fetched with ranged GETs.
 */
export interface RangeReader {
  readonly location: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; throws when the range runs past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * A regular file, or a block device (an attached volume, an LVM logical volume), opened read-only:
 * nothing here ever writes to what it reads.
 */
export class FileRangeReader implements RangeReader {
  private constructor(
    readonly location: string,
    readonly size: number,
    private readonly handle: FileHandle,
    private readonly device: boolean,
  ) {}

  /** `location`: what a snapshot records as the source (default: the absolute path). */
  static async open(path: string, options: { location?: string } = {}): Promise<FileRangeReader> {
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw userPathError(path, err);
    });
    try {
      const st = await handle.stat();
      if (!st.isFile() && !st.isBlockDevice()) throw new InvalidInputError(path, 'is neither a regular file nor a block device');
      const size = st.isBlockDevice() ? await blockDeviceSize(path, st.rdev) : st.size;
      // The location a snapshot records, and retention groups by: absolute, so that `web.img` backed
      // up from two folders are two disks (not followed through links: /dev/disk/by-id names are the
      // stable ones).
      return new FileRangeReader(options.location ?? resolve(path), size, handle, st.isBlockDevice());
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(length);
    await this.readInto(offset, out);
    return out;
  }

  /** Like read(), into a caller's buffer (the hot path reuses buffers). */
  async readInto(offset: number, into: Uint8Array): Promise<void> {
    if (offset < 0 || offset + into.length > this.size) {
      throw new DamagedObjectError(this.location, `read of ${into.length} bytes at ${offset} runs past the end (${this.size} bytes)`);
    }
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.handle.read(into, done, into.length - done, offset + done);
      if (bytesRead === 0) throw new DamagedObjectError(this.location, `file ended at ${offset + done} while reading`);
      done += bytesRead;
    }
  }

  /** Where the file holds data (holes of a sparse file left out); a block device cannot tell: all of it. */
  dataExtents(): Iterable<Extent> {
    if (this.device) return this.size > 0 ? [{ offset: 0, length: this.size }] : [];
    return fileDataExtents(this.handle.fd, this.size);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
