import { hostname, userInfo } from 'node:os';
import { chunkId, idToHex } from '../crypto/chunk-id';
import { AAD } from '../crypto/seal';
import { DamagedObjectError, InvalidInputError, NotFoundError, UsageError } from '../errors';
import { BLOB_MAP } from './blob';
import { readBlob } from './blob-reader';
import type { BlobWriter } from './blob-writer';
import { MapPageEncoder, decodeMapPage, type MapExtent } from './disk-map';
import type { Repository } from './repository';
import { parseSnapshot, summaryOf, type Snapshot, type SnapshotManifest, type SnapshotSummary } from './snapshot';
import { hasCatalog, readCatalog, writeCatalog, writeCatalogObject, type CatalogRead } from './catalog';
import { readListedSnapshotFile, readSnapshotFile, type DamagedSnapshot, type SnapshotRead } from './snapshot-file';

/** Manifest files read at once when the catalog does not hold them. */
const MANIFEST_READS = 16;

/**
 * Store a manifest (FORMAT.md §8), then, in a version 2 store, a catalog object with its summary
 * (§8.2), which is what makes it appear in listings; returns its id. The JSON is first checked as
 * every reader will check it (parseSnapshot): a manifest readers would refuse is never written.
 */
export async function saveSnapshot(repo: Repository, manifest: SnapshotManifest): Promise<string> {
  const payload = Buffer.from(JSON.stringify(manifest), 'utf8');
  const what = `snapshot of ${manifest.source?.location ?? 'an unknown source'}`;
  let parsed: SnapshotManifest;
  try {
    parsed = parseSnapshot(payload, what);
  } catch (err) {
    if (!(err instanceof DamagedObjectError)) throw err;
    throw new InvalidInputError(what, `not saved: ${err.detail}, which readers would refuse; the data it needs stays unreferenced until prune`);
  }
  const id = await repo.saveObject('snapshots', AAD.snapshot, payload);
  if (hasCatalog(repo)) await writeCatalogObject(repo, [summaryOf({ id, ...parsed })], []);
  return id;
}

/** A snapshot by full id; a damaged manifest throws its DamagedObjectError. */
export async function loadSnapshot(repo: Repository, id: string): Promise<Snapshot> {
  const r = await readSnapshotFile(repo, id);
  if (!r.ok) throw r.error;
  return r.snapshot;
}

/** Which snapshots a command considers (restic's --tag, --host, --path). Damaged manifests cannot be filtered: all are listed. */
export interface SnapshotFilter {
  /** Only snapshots carrying all these tags. */
  tags?: Record<string, string>;
  /** Only snapshots of this host name. */
  host?: string;
  /** Only snapshots of one of these sources (`source.location`: a path, scaleway-block://ZONE/ID, ...). */
  sources?: readonly string[];
}

export function matchesFilter(s: SnapshotSummary, filter: SnapshotFilter): boolean {
  if (filter.tags && !Object.entries(filter.tags).every(([k, v]) => s.tags[k] === v)) return false;
  if (filter.host !== undefined && s.hostname !== filter.host) return false;
  return filter.sources === undefined || filter.sources.includes(s.source.location);
}

export function isEmptyFilter(filter: SnapshotFilter): boolean {
  return filter.host === undefined && (filter.sources ?? []).length === 0 && Object.keys(filter.tags ?? {}).length === 0;
}

/** "with tag environment=production, of host web-1, of source /srv/web.img", or '' for no filter. */
export function describeFilter(filter: SnapshotFilter): string {
  const parts = [
    ...Object.entries(filter.tags ?? {}).map(([k, v]) => `with tag ${k}=${v}`),
    ...(filter.host !== undefined ? [`of host ${filter.host}`] : []),
    ...(filter.sources && filter.sources.length > 0 ? [`of source ${filter.sources.join(' or ')}`] : []),
  ];
  return parts.join(', ');
}

export interface SnapshotListing {
  /** Every readable snapshot (that the filter lets through), oldest first, without disk maps (loadSnapshot has them). */
  snapshots: SnapshotSummary[];
  /** Every manifest that could not be used, by id, each with the reason. */
  damaged: DamagedSnapshot[];
}

/**
 * Every snapshot, oldest first, and the manifests that are damaged: those are reported, not thrown,
 * so that one bad file leaves the others listable. In a version 2 store the catalog answers
 * (FORMAT.md §8.2) and no manifest is read; where it cannot (no catalog object yet, or a damaged
 * one), `snapshots/` is listed and every manifest the catalog does not hold is read. `fromFiles`
 * lists and reads every manifest whatever the catalog says (the report: every damaged one named). A
 * file that disappears between the listing and the read (a concurrent forget) is left out.
 */
export async function listSnapshots(repo: Repository, filter: SnapshotFilter = {}, options: { fromFiles?: boolean } = {}): Promise<SnapshotListing> {
  return collectSnapshots(repo, filter, !options.fromFiles);
}

/** Whether the catalog alone can answer: it has objects and none of them is damaged. */
function catalogAnswers(catalog: CatalogRead): boolean {
  return catalog.objects.length > 0 && catalog.damaged.length === 0;
}

async function collectSnapshots(repo: Repository, filter: SnapshotFilter, useCatalog: boolean, known?: CatalogRead): Promise<SnapshotListing> {
  const out: SnapshotListing = { snapshots: [], damaged: [] };
  const catalog = useCatalog ? known ?? await readCatalog(repo) : undefined;
  if (catalog && catalogAnswers(catalog)) {
    for (const s of catalog.snapshots.values()) if (matchesFilter(s, filter)) out.snapshots.push(s);
  } else {
    // From the files: what the readable catalog objects hold counts for the files listed now.
    const ids: string[] = [];
    for await (const obj of repo.backend.list('snapshots')) ids.push(obj.path.slice('snapshots/'.length));
    const held = catalog?.snapshots ?? new Map<string, SnapshotSummary>();
    for (const id of ids) {
      const s = held.get(id);
      if (s && matchesFilter(s, filter)) out.snapshots.push(s);
    }
    for (const r of await readSnapshotFiles(repo, ids.filter((id) => !held.has(id)))) {
      if (!r.ok) out.damaged.push(r.damaged);
      else if (matchesFilter(r.snapshot, filter)) out.snapshots.push(summaryOf(r.snapshot));
    }
  }
  out.snapshots.sort((x, y) => x.time.localeCompare(y.time) || x.id.localeCompare(y.id));
  out.damaged.sort((x, y) => x.id.localeCompare(y.id));
  return out;
}

/**
 * Read and verify these snapshot files, MANIFEST_READS at a time; a file gone since it was listed
 * (a concurrent forget) is left out. With no ids, every file listed now.
 */
export async function readSnapshotFiles(repo: Repository, ids?: readonly string[]): Promise<SnapshotRead[]> {
  let todo = ids ? [...ids] : undefined;
  if (!todo) {
    todo = [];
    for await (const obj of repo.backend.list('snapshots')) todo.push(obj.path.slice('snapshots/'.length));
  }
  const queue = todo.reverse();
  const out: SnapshotRead[] = [];
  const worker = async (): Promise<void> => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      const r = await readListedSnapshotFile(repo, id);
      if (r !== undefined) out.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(MANIFEST_READS, queue.length) }, worker));
  return out;
}

/**
 * `latest`, a full id, or a unique prefix of at least 4 hex digits. `latest` is the newest readable
 * snapshot: damaged manifests are skipped and told to `onDamaged` (one of them may be newer). A
 * damaged manifest asked for by id throws its DamagedObjectError.
 */
export async function findSnapshot(
  repo: Repository, ref: string, options: SnapshotFilter & { onDamaged?: (d: DamagedSnapshot) => void; accept?: (s: SnapshotSummary) => boolean } = {},
): Promise<Snapshot> {
  if (ref !== 'latest') return loadSnapshot(repo, await resolveSnapshotId(repo, ref));
  const which = describeFilter(options);
  for (const useCatalog of [true, false]) {
    const listing = await collectSnapshots(repo, options, useCatalog);
    const snapshots = options.accept ? listing.snapshots.filter(options.accept) : listing.snapshots;
    if (snapshots.length === 0) {
      for (const d of listing.damaged) options.onDamaged?.(d);
      throw new NotFoundError(`no snapshot in ${repo.location}${which ? ` ${which}` : ''}`);
    }
    // The newest summary's manifest, read from its file: a file gone (a forget that stopped after
    // rewriting the catalog), damaged, or saying something else than its summary (a catalog written
    // wrong) sends us to the files.
    const newest = snapshots[snapshots.length - 1];
    const r = await readListedSnapshotFile(repo, newest.id);
    if (r?.ok && sameSummary(summaryOf(r.snapshot), newest)) {
      for (const d of listing.damaged) options.onDamaged?.(d);
      return r.snapshot;
    }
  }
  throw new NotFoundError(`no snapshot in ${repo.location}${which ? ` ${which}` : ''}`);
}

function sameSummary(a: SnapshotSummary, b: SnapshotSummary): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The full id of a snapshot given by a full id (taken as it is: reading it tells whether it exists)
 * or a unique prefix, from the file names (damaged manifests included).
 */
export async function resolveSnapshotId(repo: Repository, ref: string): Promise<string> {
  if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new UsageError('snapshot', `${JSON.stringify(ref)} is not "latest" or a snapshot id (at least 4 hex digits)`);
  // A full id needs no listing (a store of 20,000 snapshots lists in 20 requests): one stat.
  if (ref.length === 64) {
    if (await repo.backend.stat(`snapshots/${ref}`)) return ref;
    throw new NotFoundError(`no snapshot ${ref} in ${repo.location}`);
  }
  const ids: string[] = [];
  for await (const obj of repo.backend.list('snapshots')) {
    const id = obj.path.slice('snapshots/'.length);
    if (id.startsWith(ref)) ids.push(id);
  }
  if (ids.length === 0) throw new NotFoundError(`no snapshot ${ref} in ${repo.location}`);
  if (ids.length > 1) throw new UsageError('snapshot', `${ref} is ambiguous: it matches ${ids.map((i) => i.slice(0, 12)).join(', ')}; give more digits`);
  return ids[0];
}

export function currentHost(): { hostname: string; username: string } {
  let username = '';
  try {
    username = userInfo().username;
  } catch {
    // No passwd entry for this uid (containers): record no user name.
  }
  return { hostname: hostname(), username };
}

/**
 * Builds a snapshot's disk map page by page, storing each full page as a map blob. `data` and
 * `hole` return a promise only when a full page has to be stored first: the caller awaits it
 * before adding the next extent (a backup adds one per chunk, and most add nothing to await).
 */
export class DiskMapWriter {
  private readonly page = new MapPageEncoder();
  private pageStart = 0;
  private end = 0;
  readonly pages: SnapshotManifest['map'] = [];

  constructor(private readonly repo: Repository, private readonly writer: BlobWriter) {}

  data(offset: number, length: number, id: Uint8Array): Promise<void> | undefined {
    this.follows(offset);
    if (this.page.full) return this.flushPage().then(() => this.data(offset, length, id));
    this.page.push(offset, length, id);
    this.end += length;
    return undefined;
  }

  hole(offset: number, length: number): Promise<void> | undefined {
    this.follows(offset);
    if (!this.page.extendHole(offset, length)) {
      if (this.page.full) return this.flushPage().then(() => this.hole(offset, length));
      this.page.push(offset, length);
    }
    this.end += length;
    return undefined;
  }

  private follows(offset: number): void {
    if (offset !== this.end) throw new Error(`disk map extent at ${offset} does not follow ${this.end}`);
  }

  private async flushPage(): Promise<void> {
    if (this.page.empty) return;
    const payload = this.page.finish();
    const id = chunkId(this.repo.keys.chunkId, payload);
    await this.writer.add(BLOB_MAP, id, payload);
    this.pages.push({ offset: this.pageStart, length: this.end - this.pageStart, id: idToHex(id) });
    this.pageStart = this.end;
  }

  /** Store the last page; returns the manifest's `map`. */
  async finish(): Promise<SnapshotManifest['map']> {
    await this.flushPage();
    return this.pages;
  }
}

/** The disk map of a snapshot, a page at a time (bounded memory for huge disks). */
export async function* readDiskMap(repo: Repository, snapshot: SnapshotSummary | Snapshot): AsyncGenerator<MapExtent[]> {
  // A listing's summary has no map: the manifest's file has it.
  const map = 'map' in snapshot ? snapshot.map : (await loadSnapshot(repo, snapshot.id)).map;
  for (const page of map) {
    const payload = await readBlob(repo, Buffer.from(page.id, 'hex'));
    yield decodeMapPage(payload, `map page ${page.id.slice(0, 12)} of snapshot ${snapshot.id.slice(0, 12)}`, page.offset, page.length);
  }
}

/** What a catalog rewrite starts from, and what it changes. */
export interface CatalogRewrite {
  /** Every manifest read from its file (compact; a catalog written wrong is replaced). */
  fromFiles?: boolean;
  /** The summaries of every readable manifest, already read from the files (prune). */
  summaries?: readonly SnapshotSummary[];
  /** Snapshots to leave out (forget, before it deletes their files). */
  without?: ReadonlySet<string>;
  /** Summaries to put back (forget: files the store refused to delete). */
  add?: readonly SnapshotSummary[];
}

/**
 * Merge the catalog into one object holding every readable snapshot (FORMAT.md §8.2), and delete
 * the objects it replaces. Forget carries the catalog's summaries over (read from the files only
 * when the catalog cannot answer); prune passes what it read from the files, compact reads them.
 * Under a lock. Returns what the store refused to delete (Object Lock): readers skip those objects.
 */
export async function rewriteCatalog(repo: Repository, options: CatalogRewrite = {}): Promise<Array<{ object: string; message: string }>> {
  if (!hasCatalog(repo)) return [];
  // The objects to replace are listed before the manifests are: a backup that finishes meanwhile
  // keeps its own catalog object, which this one does not replace.
  const catalog = await readCatalog(repo);
  const summaries = options.summaries ?? (await collectSnapshots(repo, {}, !options.fromFiles, catalog)).snapshots;
  const byId = new Map<string, SnapshotSummary>();
  for (const s of [...summaries, ...options.add ?? []]) if (!options.without?.has(s.id)) byId.set(s.id, s);
  if (byId.size === 0 && catalog.objects.length === 0) return [];
  const merged = [...byId.values()].sort((x, y) => x.time.localeCompare(y.time) || x.id.localeCompare(y.id));
  return (await writeCatalog(repo, merged, catalog.objects)).notDeleted;
}
