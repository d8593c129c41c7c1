/**
 * The bytes of emulated volumes and snapshots: one sparse raw file per id in a temporary folder.
 * Copies skip all-zero pieces so a mostly empty 10 GB volume costs nothing on disk, and every
 * operation is asynchronous file I/O in bounded pieces: the in-process S3 server and the SDK
 * clients sharing the event loop keep running.
 */
import { mkdtemp, open, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskSource } from '../../engine/source/disk-source';
import { RawFileSource } from '../../engine/source/raw-file';

/** Bytes moved per read/write call. */
const PIECE = 1024 * 1024;

export class DiskStore {
  private constructor(readonly directory: string) {}

  static async create(): Promise<DiskStore> {
    return new DiskStore(await mkdtemp(join(tmpdir(), 'scwb-emulator-')));
  }

  path(id: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(id)) throw new Error(`not a disk id: ${id}`);
    return join(this.directory, `${id}.raw`);
  }

  /** A temporary file name inside the store's folder (exports and imports stage files here). */
  tempPath(label: string): string {
    return join(this.directory, `tmp-${label}-${process.hrtime.bigint()}`);
  }

  /** A new all-zero disk of `size` bytes (a hole, not written). */
  async createEmpty(id: string, size: number): Promise<void> {
    const h = await open(this.path(id), 'w');
    try {
      await h.truncate(size);
    } finally {
      await h.close();
    }
  }

  /**
   * A new disk of `size` bytes holding the guest bytes of `source` (its first min(size, source.size)
   * bytes). Only the source's extents are read, and zero pieces are left as holes.
   */
  async createFrom(id: string, source: DiskSource, size: number): Promise<void> {
    const h = await open(this.path(id), 'w');
    try {
      await h.truncate(size);
      const buf = Buffer.alloc(PIECE);
      const limit = Math.min(size, source.size);
      for await (const e of source.extents()) {
        const end = Math.min(e.offset + e.length, limit);
        for (let at = e.offset; at < end; at += PIECE) {
          const n = Math.min(PIECE, end - at);
          const piece = buf.subarray(0, n);
          await source.read(at, piece);
          if (!isZero(piece)) await writeAll(h, piece, at);
        }
      }
    } catch (err) {
      await h.close();
      await rm(this.path(id), { force: true });
      throw err;
    }
    await h.close();
  }

  /** A sparse copy of disk `from` as `to`, `size` bytes long (larger: zero-extended). */
  async copy(from: string, to: string, size: number): Promise<void> {
    const source = await this.source(from);
    try {
      await this.createFrom(to, source, size);
    } finally {
      await source.close();
    }
  }

  async size(id: string): Promise<number> {
    return (await stat(this.path(id))).size;
  }

  async resize(id: string, size: number): Promise<void> {
    await truncate(this.path(id), size);
  }

  async read(id: string, offset: number, length: number): Promise<Buffer> {
    const h = await open(this.path(id), 'r');
    try {
      const out = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await h.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out;
    } finally {
      await h.close();
    }
  }

  /** Write `bytes` at `offset`; the caller has checked that it fits in the disk. */
  async write(id: string, offset: number, bytes: Uint8Array): Promise<void> {
    const h = await open(this.path(id), 'r+');
    try {
      await writeAll(h, bytes, offset);
    } finally {
      await h.close();
    }
  }

  /** Copy the whole disk into a local file (holes stay holes). */
  async readToFile(id: string, path: string): Promise<void> {
    const source = await this.source(id);
    try {
      const h = await open(path, 'w');
      try {
        await h.truncate(source.size);
        const buf = Buffer.alloc(PIECE);
        for (let at = 0; at < source.size; at += PIECE) {
          const piece = buf.subarray(0, Math.min(PIECE, source.size - at));
          await source.read(at, piece);
          if (!isZero(piece)) await writeAll(h, piece, at);
        }
      } finally {
        await h.close();
      }
    } finally {
      await source.close();
    }
  }

  /** The disk as a DiskSource (one extent: the raw file cannot tell its holes). */
  async source(id: string): Promise<DiskSource> {
    return RawFileSource.open(this.path(id));
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  async destroy(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}

const ZERO = Buffer.alloc(PIECE);

function isZero(b: Uint8Array): boolean {
  return Buffer.from(b.buffer, b.byteOffset, b.length).equals(ZERO.subarray(0, b.length));
}

async function writeAll(h: FileHandle, bytes: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await h.write(bytes, done, bytes.length - done, offset + done);
    done += bytesWritten;
  }
}
