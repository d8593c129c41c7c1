/**
 * Forget: apply a retention policy (retention.ts) to the snapshots of a store, group by group, and
 * delete the manifests of the snapshots it does not keep. Only `snapshots/<id>` files are deleted;
 * the data they referenced stays until `prune` (FORMAT.md §12).
 */
import { BackupError, InvalidInputError } from './errors';
import {
  applyRetentionPolicy, calendarIn, describePolicy, groupSnapshots, isEmptyPolicy, validatePolicy,
  type GroupField, type RetentionPolicy, type SnapshotGroupKey,
} from './retention';
import { writeCatalogObject } from './store/catalog';
import { withLock } from './store/lock-scope';
import type { Lock } from './store/locks';
import type { Repository } from './store/repository';
import { summaryOf, type SnapshotSummary } from './store/snapshot';
import { readSnapshotFile, type DamagedSnapshot } from './store/snapshot-file';
import { findSnapshot, listSnapshots, readSnapshotFiles, resolveSnapshotId, rewriteCatalog, type SnapshotFilter } from './store/snapshots';

export interface ForgetOptions {
  policy: RetentionPolicy;
  /** Default host and location (`source`). Empty: one group for every snapshot. */
  groupBy?: readonly GroupField[];
  /** Only snapshots carrying all these tags are considered. */
  tags?: Record<string, string>;
  /** Only snapshots of this host are considered. */
  hostname?: string;
  /** Only snapshots of these source locations are considered (a Pulumi source's own backups). */
  locations?: readonly string[];
  /** Time zone of calendar buckets (default UTC). */
  timeZone?: string;
  now?: Date;
  dryRun?: boolean;
  /** Stop before the next removal (Ctrl-C). */
  signal?: AbortSignal;
}

export interface ForgetSnapshotRef {
  id: string;
  /** Undefined for a damaged manifest (removed by id: its time cannot be read). */
  time?: string;
}

export interface ForgetGroup {
  key: SnapshotGroupKey;
  keep: Array<ForgetSnapshotRef & { reasons: string[] }>;
  remove: ForgetSnapshotRef[];
}

export interface ForgetResult {
  dryRun: boolean;
  /** describePolicy() of the policy applied, or `remove given snapshots`. */
  policy: string;
  groups: ForgetGroup[];
  /** Ids whose manifest was deleted (or would be, in a dry run). */
  removed: string[];
  /** Deletions the store refused (Object Lock retention): those snapshots remain. */
  notRemoved: Array<{ id: string; message: string }>;
  /**
   * Manifests that could not be read. A policy never removes them (it cannot place them in time);
   * `forget ID` does.
   */
  damaged: DamagedSnapshot[];
  warnings: string[];
}

/** forget with an empty policy would remove every snapshot: refused, as restic does. */
export class EmptyPolicyError extends InvalidInputError {
  constructor() {
    super('--keep-*', 'no keep rule given (or every count is 0): forget refuses a policy that would remove every snapshot; ' +
      'give at least one --keep-last/-hourly/-daily/-weekly/-monthly/-yearly/-within rule, or the ids of the snapshots to remove');
  }
}

const ref = (s: SnapshotSummary): ForgetSnapshotRef => ({ id: s.id, time: s.time });

/** A snapshot to remove by name: its summary when its manifest reads, else it is reported as damaged. */
async function resolveRef(repo: Repository, r: string, result: ForgetResult, filter: SnapshotFilter): Promise<SnapshotSummary | { id: string }> {
  if (r === 'latest') {
    return summaryOf(await findSnapshot(repo, r, {
      ...filter,
      onDamaged: (d) => {
        if (result.damaged.some((x) => x.id === d.id)) return;
        result.damaged.push(d);
        result.warnings.push(`${d.message}; "latest" is the newest readable snapshot`);
      },
    }));
  }
  const id = await resolveSnapshotId(repo, r);
  const read = await readSnapshotFile(repo, id);
  if (read.ok) return summaryOf(read.snapshot);
  if (!result.damaged.some((d) => d.id === id)) result.damaged.push(read.damaged);
  return { id };
}

/**
 * Remove these snapshots: first from the catalog (FORMAT.md §8.2: listings stop showing them), then
 * their files. A file the store refuses to delete (Object Lock) is put back in the catalog. A forget
 * that stops between the two leaves files no listing shows; the next prune or compact, which read
 * the files, brings them back, and forgetting them again removes them.
 */
async function deleteManifests(repo: Repository, doomed: ReadonlyArray<SnapshotSummary | { id: string }>, result: ForgetResult, lock: Lock | undefined): Promise<void> {
  if (doomed.length === 0) return;
  const ids = new Set(doomed.map((d) => d.id));
  // Each change is a commit: never made under a lock that may have lapsed.
  await lock?.confirm();
  for (const n of await rewriteCatalog(repo, { without: ids })) result.warnings.push(`${n.object} could not be deleted (${n.message}); readers skip it (a newer catalog object replaces it)`);
  for (const id of ids) {
    await lock?.confirm();
    try {
      await repo.backend.delete(`snapshots/${id}`);
      result.removed.push(id);
    } catch (err) {
      if (!(err instanceof BackupError && err.code === 'S3_DELETE_DENIED')) throw err;
      result.notRemoved.push({ id, message: err.message });
    }
  }
  const kept = doomed.filter((d): d is SnapshotSummary => 'time' in d && result.notRemoved.some((n) => n.id === d.id));
  if (kept.length > 0) {
    await lock?.confirm();
    await writeCatalogObject(repo, kept, []);
  }
}

function withWriterLock<T>(repo: Repository, options: { dryRun?: boolean; signal?: AbortSignal }, warnings: string[], fn: (lock: Lock | undefined) => Promise<T>): Promise<T> {
  // Non-exclusive: forget may run beside backups, but not while a prune holds the store.
  return withLock(repo, { noLock: options.dryRun, signal: options.signal, operation: 'forget', warn: (m) => warnings.push(m) }, fn);
}

/** The snapshots of `group` whose manifests read; the damaged ones are reported in `result`. */
async function readableOf(repo: Repository, group: SnapshotSummary[], result: ForgetResult): Promise<SnapshotSummary[]> {
  const readable = new Set<string>();
  for (const r of await readSnapshotFiles(repo, group.map((s) => s.id))) {
    if (r.ok) readable.add(r.snapshot.id);
    else if (!result.damaged.some((d) => d.id === r.damaged.id)) {
      result.damaged.push(r.damaged);
      result.warnings.push(`${r.damaged.message}; the policy cannot place it, so it stays: remove it with "forget ${r.damaged.id.slice(0, 12)}"`);
    }
  }
  return group.filter((s) => readable.has(s.id));
}

/** Apply a retention policy to every group of snapshots and delete the ones it does not keep. */
export async function forgetSnapshots(repo: Repository, options: ForgetOptions): Promise<ForgetResult> {
  validatePolicy(options.policy);
  if (isEmptyPolicy(options.policy)) throw new EmptyPolicyError();
  calendarIn(options.timeZone); // an unknown zone fails before anything is read
  const result: ForgetResult = { dryRun: !!options.dryRun, policy: describePolicy(options.policy), groups: [], removed: [], notRemoved: [], damaged: [], warnings: [] };
  return withWriterLock(repo, options, result.warnings, async (lock) => {
    const listing = await listSnapshots(repo, { tags: options.tags });
    let snapshots = listing.snapshots;
    result.damaged = listing.damaged;
    for (const d of listing.damaged) result.warnings.push(`${d.message}; the policy cannot place it, so it stays: remove it with "forget ${d.id.slice(0, 12)}"`);
    if (options.hostname !== undefined) snapshots = snapshots.filter((s) => s.hostname === options.hostname);
    if (options.locations !== undefined) {
      const wanted = new Set(options.locations);
      snapshots = snapshots.filter((s) => wanted.has(s.source.location));
    }
    const doomed: SnapshotSummary[] = [];
    const decide = (group: SnapshotSummary[]) => applyRetentionPolicy(group, options.policy, { now: options.now, timeZone: options.timeZone });
    for (const group of groupSnapshots(snapshots, options.groupBy ?? ['host', 'location'])) {
      let decision = decide(group.snapshots);
      if (decision.remove.length > 0) {
        // A group that loses snapshots is placed on readable manifests only, read from their files
        // (a listing the catalog answered read none): a damaged one must never take the place of a
        // good one among those kept. Forget for one source reads that source's manifests, no more.
        const readable = await readableOf(repo, group.snapshots, result);
        if (readable.length < group.snapshots.length) decision = decide(readable);
      }
      result.groups.push({
        key: group.key,
        keep: decision.keep.map((k) => ({ ...ref(k.snapshot), reasons: k.reasons })),
        remove: decision.remove.map(ref),
      });
      doomed.push(...decision.remove);
    }
    if (options.dryRun) result.removed.push(...doomed.map((s) => s.id));
    else await deleteManifests(repo, doomed, result, lock);
    return result;
  });
}

/**
 * Delete the given snapshots (ids, unique prefixes or `latest`). Ids are matched on file names, so a
 * damaged manifest can be removed deliberately; `latest` is the newest readable snapshot.
 */
export async function removeSnapshots(repo: Repository, refs: readonly string[], options: { dryRun?: boolean; signal?: AbortSignal; filter?: SnapshotFilter } = {}): Promise<ForgetResult> {
  if (refs.length === 0) throw new InvalidInputError('snapshot', 'no snapshot given');
  const result: ForgetResult = { dryRun: !!options.dryRun, policy: 'remove given snapshots', groups: [], removed: [], notRemoved: [], damaged: [], warnings: [] };
  return withWriterLock(repo, options, result.warnings, async (lock) => {
    const found: Array<SnapshotSummary | { id: string }> = [];
    for (const r of refs) {
      const s = await resolveRef(repo, r, result, options.filter ?? {});
      if (!found.some((f) => f.id === s.id)) found.push(s);
    }
    result.groups.push({ key: {}, keep: [], remove: found.map((s) => ('time' in s ? ref(s) : { id: s.id })) });
    if (options.dryRun) result.removed.push(...found.map((s) => s.id));
    else await deleteManifests(repo, found, result, lock);
    return result;
  });
}
