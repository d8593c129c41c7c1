/**
 * Copy snapshots from one store to another (3-2-1: another bucket, region or provider). Chunk ids
 * are keyed per store, so every chunk the target lacks is read from the source, verified, and hashed
 * again with the target's key; the target's BlobWriter skips what it already holds. Data first, then
 * the map pages, the index, and the snapshot manifest last (FORMAT.md §12).
 */
import { chunkId, idToHex } from './crypto/chunk-id';
import { BackupError, DamagedObjectError, InvalidInputError } from './errors';
import { ProgressReporter, type ProgressCallback } from './progress';
import { BLOB_DATA, type BlobEntry } from './store/blob';
import { readPackBlobs } from './store/blob-reader';
import { BlobWriter } from './store/blob-writer';
import type { MapExtent } from './store/disk-map';
import { withLock } from './store/lock-scope';
import type { Repository } from './store/repository';
import type { Snapshot, SnapshotManifest, SnapshotSummary } from './store/snapshot';
import { readListedSnapshotFile, type DamagedSnapshot } from './store/snapshot-file';
import { DiskMapWriter, findSnapshot, listSnapshots, matchesFilter, readDiskMap, saveSnapshot, type SnapshotFilter } from './store/snapshots';

export interface CopyOptions {
  /** Snapshots of the source to copy (ids, unique prefixes, `latest`); default: all. */
  snapshots?: readonly string[];
  /** Only source snapshots carrying all these tags (the same as `filter.tags`). */
  tags?: Record<string, string>;
  /** Only source snapshots these filters select (with `latest`: the newest of them). */
  filter?: SnapshotFilter;
  onProgress?: ProgressCallback;
  /** Source packs read at once (default 4). */
  concurrency?: number;
  /** Stop at the next disk map page (Ctrl-C): what was stored is indexed, no manifest written. */
  signal?: AbortSignal;
}

export interface CopiedSnapshot {
  source: string;
  target: string;
  time: string;
  /** Data chunks in the snapshot's disk map. */
  chunks: number;
  /** Chunks whose target id came from an already copied snapshot of the same disk, without reading them. */
  chunksReused: number;
  /** Chunks read from the source. */
  chunksRead: number;
  /** Plaintext bytes read from the source. */
  bytesRead: number;
  /** Plaintext bytes of chunks the target did not have. */
  bytesNew: number;
  /** Bytes written to the target's packs (compressed, sealed), map pages included. */
  bytesStored: number;
}

export interface CopyResult {
  copied: CopiedSnapshot[];
  /** Source snapshots the target already holds (same identity), with the target's id. */
  alreadyThere: Array<{ source: string; target: string }>;
  /**
   * Manifests that could not be read: the source's are not copied; the target's cannot be matched,
   * so a snapshot they held may be copied again.
   */
  damaged: { source: DamagedSnapshot[]; target: DamagedSnapshot[] };
  durationMs: number;
}

/** The two stores cannot share data usefully (different chunking) or are the same store. */
export class IncompatibleStoresError extends BackupError {
  constructor(message: string) {
    super('INCOMPATIBLE_STORES', message);
  }
}

/**
 * What makes two snapshots in two stores the same backup: time, host, source location and size.
 * Map page ids cannot be compared across stores: they are keyed with each store's own key.
 */
export function snapshotIdentity(s: Pick<SnapshotManifest, 'time' | 'hostname' | 'source' | 'size'>): string {
  return JSON.stringify([s.time, s.hostname, s.source.location, s.size]);
}

const sameChunker = (a: Repository, b: Repository): boolean => {
  const norm = (r: Repository): string => {
    const c = r.config.chunker;
    return c.kind === 'fixed' ? `fixed:${c.size}` : `fastcdc:${c.min}:${c.avg}:${c.max}`;
  };
  return norm(a) === norm(b);
};

/** Walks a snapshot's disk map forward, answering "which extent starts at this offset?". */
class ExtentCursor {
  private readonly pages: AsyncGenerator<MapExtent[]>;
  private page: MapExtent[] = [];
  private i = 0;
  private done = false;

  constructor(repo: Repository, snapshot: SnapshotSummary) {
    this.pages = readDiskMap(repo, snapshot);
  }

  /** The extent starting exactly at `offset` (offsets must not go backwards between calls). */
  async at(offset: number): Promise<MapExtent | undefined> {
    for (;;) {
      while (this.i < this.page.length) {
        const e = this.page[this.i];
        if (e.offset + e.length <= offset) this.i++;
        else return e.offset === offset ? e : undefined;
      }
      if (this.done) return undefined;
      const next = await this.pages.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      this.page = next.value;
      this.i = 0;
    }
  }

  async close(): Promise<void> {
    await this.pages.return(undefined);
  }
}

/**
 * An earlier copy of the same disk (source snapshot and its copy in the target), walked alongside:
 * where the new snapshot has the same chunk at the same place, the copy's target id is reused and
 * the chunk is not read again. Memory stays constant: three disk maps are walked page by page.
 */
class Translator {
  private readonly a: ExtentCursor;
  private readonly b: ExtentCursor;

  constructor(from: Repository, private readonly to: Repository, pair: { a: SnapshotSummary; b: SnapshotSummary }) {
    this.a = new ExtentCursor(from, pair.a);
    this.b = new ExtentCursor(to, pair.b);
  }

  async targetId(e: MapExtent): Promise<Buffer | undefined> {
    const pa = await this.a.at(e.offset);
    if (!pa?.id || !e.id || pa.length !== e.length || !Buffer.from(pa.id).equals(e.id)) return undefined;
    const pb = await this.b.at(e.offset);
    if (!pb?.id || pb.length !== e.length || !this.to.index.has(pb.id)) return undefined;
    return Buffer.from(pb.id);
  }

  async close(): Promise<void> {
    await Promise.all([this.a.close(), this.b.close()]);
  }
}

interface PackWork {
  blobs: BlobEntry[];
  /** Source chunk id (hex) → positions in the page that need it. */
  slots: Map<string, number[]>;
}

/** Copy one snapshot; the target's index must be loaded. */
async function copyOne(from: Repository, to: Repository, s: SnapshotSummary, parent: Pair | undefined, options: CopyOptions, locks: LockGuard): Promise<{ stats: CopiedSnapshot; map: SnapshotManifest['map'] }> {
  const progress = new ProgressReporter(options.onProgress);
  // After a failure or a stop request, indexing what was stored is clean-up: only a lapsed lock stops it.
  let aborting = false;
  const writer = new BlobWriter(to, { beforeIndex: () => locks.confirm({ cleanup: aborting }) });
  const map = new DiskMapWriter(to, writer);
  const stats: CopiedSnapshot = { source: s.id, target: '', time: s.time, chunks: 0, chunksReused: 0, chunksRead: 0, bytesRead: 0, bytesNew: 0, bytesStored: 0 };
  const translator = parent ? new Translator(from, to, parent) : undefined;
  const where = `snapshot ${s.id.slice(0, 12)} of ${from.location}`;
  try {
    for await (const page of readDiskMap(from, s)) {
      const ids: Array<Buffer | undefined> = new Array(page.length);
      const work = new Map<number, PackWork>();
      const pending = new Map<string, number[]>();
      for (let i = 0; i < page.length; i++) {
        const e = page[i];
        if (!e.id) continue;
        stats.chunks++;
        const known = translator ? await translator.targetId(e) : undefined;
        if (known) {
          ids[i] = known;
          stats.chunksReused++;
          continue;
        }
        const hex = idToHex(e.id);
        const waiting = pending.get(hex);
        if (waiting) {
          waiting.push(i);
          continue;
        }
        const n = from.index.find(e.id);
        if (n < 0) throw new DamagedObjectError(where, `chunk ${hex} at guest offset ${e.offset} is not in any index; run "scw-backup check" on the source`);
        const { blob } = from.index.entry(n);
        if (blob.rawLength !== e.length) throw new DamagedObjectError(where, `chunk ${hex} is ${blob.rawLength} bytes but the map says ${e.length}`);
        const pn = from.index.packOf(n);
        let w = work.get(pn);
        if (!w) work.set(pn, (w = { blobs: [], slots: new Map() }));
        const slots = [i];
        pending.set(hex, slots);
        w.slots.set(hex, slots);
        w.blobs.push({ ...blob, id: Buffer.from(blob.id) });
      }
      const queue = [...work.entries()];
      const worker = async (): Promise<void> => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const [pn, w] = item;
          await readPackBlobs(from, from.index.packId(pn), w.blobs, async (blob, data) => {
            const id = chunkId(to.keys.chunkId, data);
            stats.chunksRead++;
            stats.bytesRead += data.length;
            if ((await writer.add(BLOB_DATA, id, data)) > 0) stats.bytesNew += data.length;
            for (const i of w.slots.get(idToHex(blob.id)) ?? []) ids[i] = id;
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, worker));
      for (let i = 0; i < page.length; i++) {
        const e = page[i];
        if (e.id) await map.data(e.offset, e.length, ids[i] as Buffer);
        else await map.hole(e.offset, e.length);
      }
      locks.assertFresh();
      const end = page.length > 0 ? page[page.length - 1].offset + page[page.length - 1].length : 0;
      progress.report({ phase: 'copy', bytesDone: end, bytesTotal: s.size, bytesNew: stats.bytesNew, bytesStored: writer.bytesStored });
    }
    const pages = await map.finish();
    await writer.flush();
    stats.bytesStored = writer.bytesStored;
    // The manifest is the source's, with the target's map; `stats` still describe the original backup.
    const { id: _sourceId, ...manifest } = s;
    await locks.confirm();
    stats.target = await saveSnapshot(to, { ...manifest, map: pages });
    progress.report({ phase: 'done', bytesDone: s.size, bytesTotal: s.size, bytesNew: stats.bytesNew, bytesStored: stats.bytesStored }, true);
    return { stats, map: pages };
  } catch (err) {
    aborting = true;
    await writer.abort().catch(() => {
      // Indexing what was stored is best effort; the copy's own error is the one to report.
    });
    throw err;
  } finally {
    await translator?.close();
  }
}

type Pair = { a: SnapshotSummary; b: SnapshotSummary };

/** An earlier copy with both manifests read from their files, or undefined if either does not read (no parent then). */
async function readablePair(from: Repository, to: Repository, p: Pair): Promise<Pair | undefined> {
  const [a, b] = await Promise.all([readListedSnapshotFile(from, p.a.id), readListedSnapshotFile(to, p.b.id)]);
  return a?.ok && b?.ok ? { a: a.snapshot, b: b.snapshot } : undefined;
}

/** The source snapshots to copy, oldest first: the given refs, or every snapshot (with the tags). */
async function selectSnapshots(from: Repository, all: SnapshotSummary[], options: CopyOptions): Promise<SnapshotSummary[]> {
  const filter: SnapshotFilter = { ...options.filter, tags: { ...options.filter?.tags, ...options.tags } };
  if (!options.snapshots || options.snapshots.length === 0) {
    return all.filter((s) => matchesFilter(s, filter));
  }
  const wanted: SnapshotSummary[] = [];
  for (const ref of options.snapshots) {
    const s = await findSnapshot(from, ref, filter);
    if (!wanted.some((w) => w.id === s.id)) wanted.push(s);
  }
  return wanted.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/** Both stores' locks: a copy goes on only while both hold (FORMAT.md §9). */
interface LockGuard {
  assertFresh(): void;
  confirm(options?: { cleanup?: boolean }): Promise<void>;
}

async function copyAll(from: Repository, to: Repository, options: CopyOptions, result: CopyResult, locks: LockGuard): Promise<void> {
  const source = await listSnapshots(from);
  const target = await listSnapshots(to);
  result.damaged = { source: source.damaged, target: target.damaged };
  const all = source.snapshots;
  const wanted = await selectSnapshots(from, all, options);
  const inTarget = new Map(target.snapshots.map((s) => [snapshotIdentity(s), s] as const));
  // Indexes after snapshots: a manifest is written after every index file it needs, so each
  // snapshot listed above finds its chunks even if its backup finished a moment ago.
  // Every entry of both stores in memory: chunks are looked up one by one, across the whole disk.
  await Promise.all([from.loadIndex({ full: true }), to.loadIndex({ full: true })]);
  // Earlier copies of the same disk (host and location), to reuse chunk ids from.
  const pairs = new Map<string, Pair[]>();
  const disk = (s: SnapshotSummary): string => JSON.stringify([s.hostname, s.source.location]);
  const addPair = (a: SnapshotSummary, b: SnapshotSummary): void => {
    pairs.set(disk(a), [...(pairs.get(disk(a)) ?? []), { a, b }]);
  };
  for (const s of all) {
    const b = inTarget.get(snapshotIdentity(s));
    if (b) addPair(s, b);
  }
  const distance = (p: Pair, s: SnapshotSummary): number => Math.abs(Date.parse(p.a.time) - Date.parse(s.time));
  for (const s of wanted) {
    const there = inTarget.get(snapshotIdentity(s));
    if (there) {
      result.alreadyThere.push({ source: s.id, target: there.id });
      continue;
    }
    // The manifest itself, from its file (listings give summaries): a damaged one is reported and skipped.
    const read = await readListedSnapshotFile(from, s.id);
    if (read === undefined) continue; // forgotten since it was listed
    if (!read.ok) {
      result.damaged.source.push(read.damaged);
      continue;
    }
    // The copy closest in time is the likeliest to share chunks at the same places.
    const closest = (pairs.get(disk(s)) ?? []).reduce<Pair | undefined>((best, p) => (!best || distance(p, s) < distance(best, s) ? p : best), undefined);
    const parent = closest && await readablePair(from, to, closest);
    const { stats, map } = await copyOne(from, to, read.snapshot, parent, options, locks);
    result.copied.push(stats);
    const b: Snapshot = { ...s, id: stats.target, map };
    inTarget.set(snapshotIdentity(s), b);
    addPair(s, b);
  }
}

/**
 * Copy snapshots of `from` that `to` does not hold yet (by snapshotIdentity), oldest first. Both
 * stores must cut disks the same way (identical chunker parameters): otherwise nothing would
 * deduplicate, and the copy is refused.
 */
export async function copySnapshots(from: Repository, to: Repository, options: CopyOptions = {}): Promise<CopyResult> {
  const started = Date.now();
  if (from.config.id === to.config.id) throw new InvalidInputError('--to', `${to.location} is the same repository as ${from.location}`);
  if (!sameChunker(from, to)) {
    throw new IncompatibleStoresError(`cannot copy from ${from.location} to ${to.location}: they cut disks differently ` +
      `(${JSON.stringify(from.config.chunker)} against ${JSON.stringify(to.config.chunker)}) so nothing would deduplicate; ` +
      'create the target with the same --chunker and --chunk-size as the source');
  }
  const result: CopyResult = { copied: [], alreadyThere: [], damaged: { source: [], target: [] }, durationMs: 0 };
  // Both stores locked non-exclusively for the whole copy: neither may be pruned meanwhile.
  const signal = options.signal;
  await withLock(from, { operation: 'copy', signal }, (sourceLock) => withLock(to, { operation: 'copy', signal }, (targetLock) => copyAll(from, to, options, result, {
    assertFresh: () => {
      sourceLock?.assertFresh();
      targetLock?.assertFresh();
    },
    confirm: async (o) => {
      await sourceLock?.confirm(o);
      await targetLock?.confirm(o);
    },
  })));
  result.durationMs = Date.now() - started;
  return result;
}
