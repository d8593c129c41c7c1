import { DamagedObjectError, NotFoundError } from '../errors';
import type { Backend } from '../store/backend';
import type { RangeReader } from '../source/range-reader';

/** What the reader needs of a backend: sized lookups and ranged GETs. */
export type RangedObjectStore = Pick<Backend, 'location' | 'get' | 'stat'>;

/**
 * An object in a bucket as a RangeReader: every read is one ranged GET (the backend retries and
 * types its errors). openQcow2 reads a Scaleway export through this straight from the staging
 * bucket, several reads in flight, without a temporary file. With a signal, reads in flight are
 * cut when it fires (ByteRange.signal): a GET stuck in retries neither holds up a stopped backup nor
 * keeps the backend's request slots its cleanup needs.
 */
export class S3ObjectReader implements RangeReader {
  private constructor(
    readonly location: string, readonly size: number, private readonly store: RangedObjectStore, private readonly path: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** `location` names the object in messages and manifests (default: its URL). */
  static async open(store: RangedObjectStore, path: string, options: { location?: string; signal?: AbortSignal } = {}): Promise<S3ObjectReader> {
    const info = await store.stat(path);
    if (!info) throw new NotFoundError(`${path} does not exist in ${store.location}`);
    return new S3ObjectReader(options.location ?? `${store.location.replace(/\/+$/, '')}/${path}`, info.size, store, path, options.signal);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new DamagedObjectError(this.location, `read of ${length} bytes at ${offset} runs past the end (${this.size} bytes)`);
    }
    if (length === 0) return new Uint8Array(0);
    this.signal?.throwIfAborted();
    return this.store.get(this.path, { offset, length, ...(this.signal ? { signal: this.signal } : {}) });
  }

  async close(): Promise<void> {
    // The backend belongs to the caller.
  }
}
