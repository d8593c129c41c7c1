import { DamagedObjectError, InvalidInputError } from '../errors';
import type { DiskSource, DiskSourceInfo, Extent, FormatReason } from '../source/disk-source';
import type { RangeReader } from '../source/range-reader';
import { L1_ENTRY_SIZE } from './constants';
import { ClusterDecompressor } from './decompress';
import { walkExtents } from './extents';
import { parseExtensions, type HeaderExtensions } from './extensions';
import { checkFeatures, type CompressionType } from './features';
import { computeGeometry, type Geometry } from './geometry';
import { HEADER_PROBE_BYTES, parseHeader, type Qcow2Header } from './header';
import { L2Cache } from './l2-cache';
import { ClusterMap } from './mapping';
import { groupFetches, planRead, type CompressedSegment, type Fetch } from './read-plan';

export interface Qcow2OpenOptions {
  /** Told about things that do not stop the read (internal snapshots, a stray dirty bit). */
  onWarning?: (msg: string) => void;
  /** How many L2 tables to keep in memory (default: ~4 MiB worth, between 4 and 64 tables). */
  l2CacheTables?: number;
  /** How many reader.read() calls one read() may have in flight (default 4). */
  readConcurrency?: number;
  /** Why the caller reads this file as QCOW2 (recorded in the snapshot manifest). */
  formatReason?: FormatReason;
}

/** What the image cost to read: proves that holes are never fetched. */
export interface Qcow2ReadStats {
  /** Bytes fetched from the reader, metadata included. */
  bytesRead: number;
  /** reader.read() calls. */
  reads: number;
  /** L2 tables fetched (cache misses). */
  l2TablesLoaded: number;
}

/** A subset of the header worth showing (qemu-img info style). */
export interface Qcow2Description {
  version: 2 | 3;
  clusterSize: number;
  compression: CompressionType;
  extendedL2: boolean;
  lazyRefcounts: boolean;
  refcountBits: number;
  snapshots: number;
}

const EXTENSIONS_FIRST_READ = 64 * 1024;
const DEFAULT_L2_CACHE_BYTES = 4 * 1024 * 1024;

/**
 * The guest disk inside a QCOW2 file, read through a RangeReader (a local file or a bucket object).
 * Only the header, the active L1 table, the L2 tables that are needed and allocated clusters are
 * ever fetched.
 */
export class Qcow2Image implements DiskSource {
  readonly info: DiskSourceInfo;
  readonly size: number;
  /** At most the file's own size: every allocated cluster is in the file (compressed ones inflate, so this is a floor there). */
  get expectedReadBytes(): number {
    return Math.min(this.size, this.reader.size);
  }
  readonly clusterSize: number;
  readonly description: Qcow2Description;
  readonly stats: Qcow2ReadStats;
  /**
   * The last inflated cluster: small sequential reads of a compressed cluster inflate it once. Keyed
   * by the descriptor's offset and length, as each L2 entry is decompressed from its own bytes in
   * qemu: another entry at the same offset with fewer sectors is decompressed (and judged) anew.
   */
  private lastCompressed: { host: number; length: number; data: Uint8Array } | undefined;

  /** @internal use openQcow2() */
  constructor(
    private readonly reader: RangeReader,
    private readonly geometry: Geometry,
    private readonly map: ClusterMap,
    private readonly decompressor: ClusterDecompressor,
    description: Qcow2Description,
    stats: Qcow2ReadStats,
    private readonly concurrency: number,
    formatReason?: FormatReason,
  ) {
    this.info = { format: 'qcow2', location: reader.location, ...(formatReason ? { formatReason } : {}) };
    this.size = geometry.size;
    this.clusterSize = geometry.clusterSize;
    this.description = description;
    this.stats = stats;
  }

  extents(): AsyncIterable<Extent> {
    return walkExtents(this.map, this.geometry);
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + into.length > this.size) {
      throw new InvalidInputError(
        this.info.location,
        `read of ${into.length} bytes at ${offset} is outside the ${this.size}-byte virtual disk`,
      );
    }
    if (into.length === 0) return;
    const segments = await planRead(this.map, this.geometry, offset, into);
    const fetches = groupFetches(segments);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < fetches.length) await this.runFetch(fetches[next++], into);
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, fetches.length) }, worker));
  }

  private async runFetch(f: Fetch, into: Uint8Array): Promise<void> {
    const only = f.segments.length === 1 ? f.segments[0] : undefined;
    if (only?.kind === 'compressed') {
      const cached = this.cachedCluster(only);
      if (cached !== undefined) {
        into.set(cached.subarray(only.from, only.from + only.length), only.at);
        return;
      }
    }
    if (only?.kind === 'data') {
      await readCounted(this.reader, this.stats, only.host, into.subarray(only.at, only.at + only.length));
      return;
    }
    const buf = await fetchCounted(this.reader, this.stats, f.start, f.end - f.start);
    for (const s of f.segments) {
      const local = s.host - f.start;
      if (s.kind === 'data') {
        into.set(buf.subarray(local, local + s.length), s.at);
        continue;
      }
      let cluster = this.cachedCluster(s);
      if (cluster === undefined) {
        cluster = new Uint8Array(this.clusterSize);
        await this.decompressor.decompress(buf.subarray(local, local + s.hostLength), cluster, s.host);
        this.lastCompressed = { host: s.host, length: s.hostLength, data: cluster };
      }
      into.set(cluster.subarray(s.from, s.from + s.length), s.at);
    }
  }

  private cachedCluster(s: CompressedSegment): Uint8Array | undefined {
    const last = this.lastCompressed;
    return last !== undefined && last.host === s.host && last.length === s.hostLength ? last.data : undefined;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/**
 * Open a QCOW2 image: parse and check the header, load the active L1 table. The image owns the
 * reader from here on: close() closes it, and so does a failed open.
 */
export async function openQcow2(reader: RangeReader, options: Qcow2OpenOptions = {}): Promise<Qcow2Image> {
  try {
    return await openOwned(reader, options);
  } catch (err) {
    await reader.close().catch(() => {});
    throw err;
  }
}

async function openOwned(reader: RangeReader, options: Qcow2OpenOptions): Promise<Qcow2Image> {
  const location = reader.location;
  const warn = options.onWarning ?? ((): void => {});
  const stats: Qcow2ReadStats = { bytesRead: 0, reads: 0, l2TablesLoaded: 0 };
  const fileSize = reader.size;

  const head = await fetchCounted(reader, stats, 0, Math.min(fileSize, HEADER_PROBE_BYTES));
  const header = parseHeader(location, head, fileSize);
  const ext = await readExtensions(reader, stats, header, fileSize);
  const features = checkFeatures(location, header, ext, warn);
  const geometry = computeGeometry(location, header, features, fileSize);

  const l1 = await fetchCounted(reader, stats, geometry.l1Offset, geometry.l1Entries * L1_ENTRY_SIZE);
  const tables = cacheCapacity(options.l2CacheTables, geometry.clusterSize, location);
  const cache = new L2Cache(tables, async (offset) => {
    stats.l2TablesLoaded++;
    return fetchCounted(reader, stats, offset, geometry.clusterSize);
  });
  const concurrency = options.readConcurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError('readConcurrency', `must be a positive integer, got ${concurrency}`);
  }
  const map = new ClusterMap(geometry, l1, header.l1Size, cache);
  map.validateL1();
  return new Qcow2Image(
    reader,
    geometry,
    map,
    new ClusterDecompressor(location, features.compression),
    {
      version: header.version,
      clusterSize: header.clusterSize,
      compression: features.compression,
      extendedL2: features.extendedL2,
      lazyRefcounts: features.lazyRefcounts,
      refcountBits: 2 ** header.refcountOrder,
      snapshots: header.nbSnapshots,
    },
    stats,
    concurrency,
    options.formatReason,
  );
}

/**
 * Header extensions sit between the fixed header and the end of the first cluster (or the backing
 * file name) (spec "Header extensions"). Read a first slice; read the whole area only when the
 * extensions run on past it.
 */
async function readExtensions(reader: RangeReader, stats: Qcow2ReadStats, h: Qcow2Header, fileSize: number): Promise<HeaderExtensions> {
  const start = h.headerLength;
  let end = Math.min(h.clusterSize, fileSize);
  if (h.backingFileOffset > start && h.backingFileOffset < end) end = h.backingFileOffset;
  if (end <= start) return parseExtensions(reader.location, new Uint8Array(0), start);
  const first = Math.min(end - start, EXTENSIONS_FIRST_READ);
  let area = await fetchCounted(reader, stats, start, first);
  if (first < end - start && !endsInside(area)) area = await fetchCounted(reader, stats, start, end - start);
  return parseExtensions(reader.location, area, start);
}

/** True when the walk over `area` meets the end marker (or a length that leaves the slice). */
function endsInside(area: Uint8Array): boolean {
  const dv = new DataView(area.buffer, area.byteOffset, area.byteLength);
  let at = 0;
  while (at + 8 <= area.length) {
    if (dv.getUint32(at) === 0) return true;
    at += 8 + Math.ceil(dv.getUint32(at + 4) / 8) * 8;
  }
  return false;
}

function cacheCapacity(asked: number | undefined, clusterSize: number, location: string): number {
  if (asked === undefined) return Math.max(4, Math.min(64, Math.floor(DEFAULT_L2_CACHE_BYTES / clusterSize)));
  if (!Number.isInteger(asked) || asked < 1) {
    throw new InvalidInputError(`${location} l2CacheTables`, `must be a positive integer, got ${asked}`);
  }
  return asked;
}

/** reader.read() with accounting and a check that the range lies within the file. */
async function fetchCounted(reader: RangeReader, stats: Qcow2ReadStats, offset: number, length: number): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  checkRange(reader, offset, length);
  stats.reads++;
  stats.bytesRead += length;
  const got = await reader.read(offset, length);
  if (got.length !== length) {
    throw new DamagedObjectError(reader.location, `read of ${length} bytes at ${offset} returned ${got.length}`);
  }
  return got;
}

/** Read straight into the caller's buffer when the reader can (FileRangeReader.readInto), else copy. */
async function readCounted(reader: RangeReader, stats: Qcow2ReadStats, offset: number, into: Uint8Array): Promise<void> {
  const direct = (reader as Partial<{ readInto(offset: number, into: Uint8Array): Promise<void> }>).readInto;
  if (typeof direct !== 'function') {
    into.set(await fetchCounted(reader, stats, offset, into.length));
    return;
  }
  checkRange(reader, offset, into.length);
  stats.reads++;
  stats.bytesRead += into.length;
  await direct.call(reader, offset, into);
}

function checkRange(reader: RangeReader, offset: number, length: number): void {
  if (offset < 0 || offset + length > reader.size) {
    throw new DamagedObjectError(reader.location, `needs ${length} bytes at ${offset}, past the end of the file (${reader.size} bytes)`);
  }
}
