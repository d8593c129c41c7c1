import { idToHex } from '../crypto/chunk-id';
import { DamagedObjectError, InvalidInputError } from '../errors';
import type { BlobEntry } from '../store/blob';
import { readPackBlobs } from '../store/blob-reader';
import type { MapExtent } from '../store/disk-map';
import type { Lock } from '../store/locks';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { ChunkCache } from './chunk-cache';
import { DiskMapIndex } from './map-index';
import { RecentChunks } from './recent-chunks';

/** Decrypted chunks kept by default: 64 MiB holds 1024 chunks of 64 KiB, or 8 of the largest (8 MiB, FORMAT.md §2). */
export const DEFAULT_CHUNK_CACHE_BYTES = 64 * 1024 * 1024;
/** How far past a sequential read the next chunks are fetched, by default. */
export const DEFAULT_PREFETCH_BYTES = 8 * 1024 * 1024;
/** Packs fetched at once for one read or prefetch. */
const PACK_CONCURRENCY = 4;
/** Sequential streams recognised at once (several NBD clients, or a file system reading two files). */
const STREAMS = 8;
/** Prefetches running at once: more would only compete with the reads they are meant to serve. */
const PREFETCHES = 2;
/**
 * A stream is fetched ahead only once it has read this much in order: a file system scanning a
 * directory reads a few blocks in a row for every lookup, and fetching 8 MiB after each of those
 * would cost more than the scan (an `ls` of 10,000 entries triggered 10,000 prefetches).
 */
const PREFETCH_AFTER = 1024 * 1024;
/** Bytes of recently served chunks found by offset without a map lookup (recent-chunks.ts). */
const RECENT_BYTES = 16 * 1024 * 1024;

export interface SnapshotReaderOptions {
  /** Bytes of decrypted chunks kept (default 64 MiB). */
  cacheBytes?: number;
  /** Bytes fetched ahead of sequential reads (default 8 MiB; 0: no prefetch). */
  prefetchBytes?: number;
  /** The reader's lock, checked on every read: a reader whose lock lapsed stops (FORMAT.md §9). */
  lock?: Lock;
  /** Stop reading (Ctrl-C): every read after it throws the signal's reason. */
  signal?: AbortSignal;
}

/** What the reader did, for tests, benchmarks and progress. */
export interface SnapshotReaderStats {
  /** Bytes asked for through read(). */
  bytesRead: number;
  /** Chunks fetched from packs (each opened and verified once while it stays cached). */
  chunksFetched: number;
  /** Plaintext bytes of those chunks. */
  bytesFetched: number;
  /** Chunks a read found in the cache or already being fetched. */
  cacheHits: number;
  /** Chunks fetched ahead of sequential reads. */
  chunksPrefetched: number;
}

/** A sequential stream: where it started and its last read ended, and how far ahead its chunks were fetched. */
interface Stream {
  start: number;
  end: number;
  ahead: number;
}

/**
 * Random access to a stored snapshot: any byte range of the guest disk, from the disk map and the
 * packs. Each chunk is fetched with a ranged read of its pack (neighbours of one read in one request:
 * blob-reader.ts), opened and verified once, and kept in a bounded LRU of decrypted chunks, so the
 * 4 KiB reads of a file system cost one fetch per chunk, not one per read. Reads that follow each
 * other fetch the following chunks ahead. Holes read as zeros without a fetch. Concurrent reads of
 * the same chunk share one fetch. Memory: the cache, the decoded map pages (map-index.ts), and the
 * chunks of the reads in flight (and at most 16 MiB of recently read chunks the cache may have let go).
 *
 * The repository's index must be loaded (Repository.loadIndex()); entries of large index tables are
 * looked up as reads need them (Repository.ensureIndexed).
 */
export class SnapshotReader {
  readonly stats: SnapshotReaderStats = { bytesRead: 0, chunksFetched: 0, bytesFetched: 0, cacheHits: 0, chunksPrefetched: 0 };
  private readonly cache: ChunkCache;
  private readonly map: DiskMapIndex;
  private readonly prefetchBytes: number;
  /** Chunks being fetched, by id: a second reader of one waits for the same fetch. */
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private readonly prefetches = new Set<Promise<void>>();
  private streams: Stream[] = [];
  /** The chunks the last reads fell in (each read inside one chunk): the next read is often in one of them too. */
  private readonly recent = new RecentChunks(RECENT_BYTES);
  private readonly name: string;

  constructor(private readonly repo: Repository, readonly snapshot: Snapshot, private readonly options: SnapshotReaderOptions = {}) {
    this.cache = new ChunkCache(options.cacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES);
    this.map = new DiskMapIndex(repo, snapshot);
    this.prefetchBytes = Math.min(options.prefetchBytes ?? DEFAULT_PREFETCH_BYTES, this.cache.maxBytes / 2);
    this.name = `snapshot ${snapshot.id.slice(0, 12)}`;
  }

  get size(): number {
    return this.snapshot.size;
  }

  /** Bytes of decrypted chunks held in the cache now. */
  get cachedBytes(): number {
    return this.cache.bytes;
  }

  /** Fill `into` with the guest bytes at `offset` (zeros in holes). The range must lie inside the disk. */
  async read(offset: number, into: Uint8Array): Promise<void> {
    this.options.signal?.throwIfAborted();
    this.options.lock?.assertFresh();
    const end = offset + into.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || end > this.size) {
      throw new InvalidInputError(`read of ${into.length} bytes at ${offset}`, `outside the ${this.size}-byte disk of ${this.name}`);
    }
    if (into.length === 0) return;
    // A file system reads 4 KiB at a time, mostly inside the chunks it read last.
    const last = this.recent.find(offset, end);
    if (last) {
      into.set(last.data.subarray(offset - last.offset, end - last.offset));
      this.stats.bytesRead += into.length;
      this.stats.cacheHits++;
      if (this.prefetchBytes > 0) this.followed(offset, end);
      return;
    }
    const extents = await this.map.overlapping(offset, end);
    const data = await this.chunks(extents, false);
    for (const e of extents) {
      const from = Math.max(offset, e.offset);
      const to = Math.min(end, e.offset + e.length);
      if (!e.id) into.fill(0, from - offset, to - offset);
      else into.set((data.get(idToHex(e.id)) as Buffer).subarray(from - e.offset, to - e.offset), from - offset);
    }
    const only = extents.length === 1 && extents[0].id ? extents[0] : undefined;
    if (only) this.recent.add(only.offset, data.get(idToHex(only.id as Uint8Array)) as Buffer);
    this.stats.bytesRead += into.length;
    if (this.prefetchBytes > 0) this.followed(offset, end);
  }

  /**
   * The plaintext of every data extent of `extents`, by id: from the cache, from a fetch already
   * running, or fetched now (grouped by pack, PACK_CONCURRENCY packs at once).
   */
  private async chunks(extents: MapExtent[], prefetch: boolean): Promise<Map<string, Buffer>> {
    // Ids the index may hold only in a large index table (FORMAT.md §7.1): looked up there first.
    await this.repo.ensureIndexed(extents.filter((e) => e.id && !this.cache.has(idToHex(e.id))).map((e) => e.id as Uint8Array));
    const out = new Map<string, Buffer>();
    const waiting: Array<[string, Promise<Buffer>]> = [];
    const byPack = new Map<string, BlobEntry[]>();
    const seen = new Set<string>();
    for (const e of extents) {
      if (!e.id) continue;
      const key = idToHex(e.id);
      if (seen.has(key)) continue;
      seen.add(key);
      const cached = this.cache.get(key);
      if (cached) {
        out.set(key, cached);
        if (!prefetch) this.stats.cacheHits++;
        continue;
      }
      const running = this.inflight.get(key);
      if (running) {
        waiting.push([key, running]);
        if (!prefetch) this.stats.cacheHits++;
        continue;
      }
      const n = this.repo.index.find(e.id);
      if (n < 0) throw new DamagedObjectError(this.name, `chunk ${key} at guest offset ${e.offset} is not in any index (its pack is missing or unindexed); run "scw-backup check"`);
      const { pack, blob } = this.repo.index.entry(n);
      if (blob.rawLength !== e.length) throw new DamagedObjectError(this.name, `chunk ${key} is ${blob.rawLength} bytes but the map says ${e.length} at ${e.offset}`);
      const list = byPack.get(pack) ?? [];
      list.push({ ...blob, id: Buffer.from(blob.id) });
      byPack.set(pack, list);
      waiting.push([key, this.deferred(key)]);
    }
    this.fetch([...byPack.entries()], prefetch);
    for (const [key, p] of waiting) out.set(key, await p);
    return out;
  }

  /** Resolvers of the chunks being fetched, by id. */
  private readonly resolvers = new Map<string, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();

  private deferred(key: string): Promise<Buffer> {
    const p = new Promise<Buffer>((resolve, reject) => this.resolvers.set(key, { resolve, reject }));
    // Whoever awaits it gets the error; a prefetch nobody awaits must not become an unhandled rejection
    // (the read that needs the chunk then fetches it again and reports its own failure).
    p.catch(() => undefined);
    this.inflight.set(key, p);
    return p;
  }

  private settle(key: string, data: Buffer | undefined, err?: unknown): void {
    const r = this.resolvers.get(key);
    if (!r) return;
    this.resolvers.delete(key);
    this.inflight.delete(key);
    if (data) r.resolve(data);
    else r.reject(err);
  }

  /** Fetch each pack's blobs; every chunk's deferred settles (with its data, or its pack's error). */
  private fetch(jobs: Array<[string, BlobEntry[]]>, prefetch: boolean): void {
    const worker = async (): Promise<void> => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        const [packId, blobs] = job;
        try {
          await readPackBlobs(this.repo, packId, blobs, (blob, data) => {
            const key = idToHex(blob.id);
            this.cache.set(key, data);
            this.stats.chunksFetched++;
            this.stats.bytesFetched += data.length;
            if (prefetch) this.stats.chunksPrefetched++;
            this.settle(key, data);
          });
        } catch (err) {
          for (const b of blobs) this.settle(idToHex(b.id), undefined, err);
        }
      }
    };
    for (let i = 0; i < Math.min(PACK_CONCURRENCY, jobs.length); i++) void worker();
  }

  /**
   * Readahead: a read that starts where an earlier one ended continues a stream; once the stream has
   * read PREFETCH_AFTER bytes in order, and whenever its reads come within half a window of what was
   * fetched ahead, the next window is fetched.
   */
  private followed(offset: number, end: number): void {
    const s = this.streams.find((x) => x.end === offset);
    if (!s) {
      this.streams.push({ start: offset, end, ahead: end });
      if (this.streams.length > STREAMS) this.streams.shift();
      return;
    }
    s.end = end;
    if (end - s.start < PREFETCH_AFTER || s.ahead - end >= this.prefetchBytes / 2 || end >= this.size || this.prefetches.size >= PREFETCHES) return;
    const from = Math.max(s.ahead, end);
    const to = Math.min(this.size, end + this.prefetchBytes);
    s.ahead = to;
    const running: Promise<void> = this.map.overlapping(from, to)
      .then((extents) => this.chunks(extents, true))
      .then(() => undefined, () => undefined) // reported by the read that needs the chunk (see deferred)
      .finally(() => this.prefetches.delete(running));
    this.prefetches.add(running);
  }

  /** Wait for prefetches still running, then drop the cache. */
  async close(): Promise<void> {
    await Promise.all([...this.prefetches]);
    await Promise.all([...this.inflight.values()].map((p) => p.catch(() => undefined)));
    this.cache.clear();
    this.map.clear();
    this.recent.clear();
    this.streams = [];
  }
}
