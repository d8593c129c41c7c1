/**
 * What a BackupSource does, as plain async functions over plain data (docs/PULUMI.md): the dynamic
 * provider (provider/dynamic/) calls these, and tests drive them directly. `create` checks that the
 * Scaleway volume or Instance exists and takes the first backup; `diff` says why an update is wanted
 * (a backup due, drift between the state and the store, changed inputs); `update` takes the backup
 * and applies the retention, or only records new connection details; `read` reports the store's view
 * and keeps what went missing; `delete` leaves every backup in place.
 *
 * The dynamic providers load this module by package name (scw-backup/provider/source-ops), and
 * refresh and destroy run the provider text of the state, written by whichever version made it: the
 * functions Read and Delete call (`refreshSource`) keep their names and shapes.
 */
import './plugin-process';
import { BackupError, forgetSnapshots, listDrills, listSnapshots, readSnapshotFiles, type DamagedSnapshot, type SnapshotSummary } from '../engine';
import { checkInputs, type CheckAnswer } from './check-inputs';
import { complianceFacts, complianceOutputs, rpoTag } from './compliance';
import { withScaleway, withStore } from './connection';
import type { ConnectionOverrides } from './connection-types';
import { tellEngine } from './engine-log';
import { dueReason, keptNow, storeDrift } from './source-drift';
import {
  BACKUP_INPUTS, CONNECTION_INPUTS, REPLACE_INPUTS, hasRetention, retentionPolicy, sourceLocation, validateSource,
  type BackupSourceInputs, type BackupSourceOutputs, type RetainedSnapshot,
} from './source-inputs';
import { knownChanges, unknownKeys } from './unknowns';

export {
  REPLACE_INPUTS, retentionPolicy, sourceLocation, validateSource,
  type BackupSourceInputs, type BackupSourceOutputs, type RetainedSnapshot, type RetentionInput, type SourceKind, type SourceStatus,
} from './source-inputs';

/** Check: validateSource's answer, a bad input as a failure on it. */
export function checkSource(news: BackupSourceInputs): CheckAnswer<BackupSourceInputs> {
  return checkInputs(news, validateSource);
}

/**
 * Labels of every snapshot of this source: the schedule's RPO as an `rpo` tag (so the report, without
 * a plan, judges the source by the RPO its outputs are judged by; a caller's own `rpo` tag wins), the
 * caller's tags, environment and data class.
 */
function snapshotTags(i: BackupSourceInputs): Record<string, string> {
  return { rpo: rpoTag(i), ...i.tags, ...(i.environment ? { environment: i.environment } : {}), ...(i.dataClass ? { dataClass: i.dataClass } : {}) };
}

const retainedOf = (snapshots: readonly SnapshotSummary[]): RetainedSnapshot[] => snapshots.map((s) => ({ id: s.id, time: s.time })).reverse();

interface StoreView {
  /** The outputs the store's view gives: newest readable snapshot, count, status. */
  view: BackupSourceOutputs;
  /** This source's own readable snapshots (for an Instance: its group manifests), newest first. */
  held: RetainedSnapshot[];
  /** Every readable snapshot id in the store. */
  presentIds: Set<string>;
  /**
   * Manifests that do not read (docs/FORMAT.md §10): their source cannot be told, so they never
   * count as this source's, and a promised one is as lost as a missing one.
   */
  damaged: DamagedSnapshot[];
}

/**
 * What the store holds of the source. With `complianceAt` (create, update, read: not diff, which
 * runs at every preview), also the drill records, and the outputs carry the compliance facts as of
 * that time, worked out from the same listing (compliance.ts).
 */
async function storeView(i: BackupSourceInputs, complianceAt?: Date): Promise<StoreView> {
  const location = sourceLocation(i);
  const { all, own, damaged, drills } = await withStore(i.store, async (repo) => {
    const listing = await listSnapshots(repo);
    const listed = listing.snapshots.filter((s) => s.source.location === location);
    // The catalog vouches for summaries, not for the manifests behind them (docs/FORMAT.md §8.2):
    // read this source's own, so a damaged or vanished one is drift. Its retention bounds the reads,
    // not the store's size.
    const reads = await readSnapshotFiles(repo, listed.map((s) => s.id));
    const fine = new Set(reads.flatMap((r) => (r.ok ? [r.snapshot.id] : [])));
    const bad = reads.flatMap((r) => (r.ok ? [] : [r.damaged]));
    const mine = (s: SnapshotSummary): boolean => s.source.location === location;
    return {
      all: listing.snapshots.filter((s) => !mine(s) || fine.has(s.id)),
      own: listed.filter((s) => fine.has(s.id)),
      damaged: [...listing.damaged, ...bad],
      drills: complianceAt ? (await listDrills(repo)).drills : [],
    };
  });
  const last = own[own.length - 1];
  const view: BackupSourceOutputs = {
    ...i, location, snapshotCount: own.length, status: last ? 'ok' : 'no-backup-yet', retained: retainedOf(own),
    ...(last ? { lastSnapshotId: last.id, lastSnapshotTime: last.time, bytesRead: last.stats.bytesRead, bytesNew: last.stats.bytesNew, bytesStored: last.stats.bytesStored } : {}),
    ...(complianceAt ? complianceOutputs(complianceFacts(i, { snapshots: all, drills }, complianceAt)) : {}),
  };
  return { view, held: retainedOf(own), presentIds: new Set(all.map((s) => s.id)), damaged };
}

/**
 * The store's view of the source: newest snapshot, count, what it holds as the retention's promise,
 * and the compliance facts as of `now`.
 */
export async function readSource(i: BackupSourceInputs, now = new Date()): Promise<BackupSourceOutputs> {
  return (await storeView(i, now)).view;
}

/** Does the source exist, in our project? A clear error naming it when not. */
export async function checkSourceExists(i: BackupSourceInputs, overrides: ConnectionOverrides = {}): Promise<void> {
  await withScaleway(i.scaleway, i.zone, i.bucket, overrides, async (clients) => {
    const { describeServer, WrongProjectError, callOrNotFound } = await import('../engine/scaleway');
    if (i.kind === 'instance') {
      const server = await describeServer(clients, i.zone, i.resourceId);
      if (server.projectId !== i.scaleway.projectId) throw new WrongProjectError('server', i.resourceId, server.projectId, i.scaleway.projectId);
      return;
    }
    const volume = await callOrNotFound('volume', i.resourceId, i.zone, `read volume ${i.resourceId}`, () => clients.block.getVolume({ zone: i.zone, volumeId: i.resourceId }));
    if (volume.projectId !== i.scaleway.projectId) throw new WrongProjectError('volume', i.resourceId, volume.projectId, i.scaleway.projectId);
  });
}

/** Take a backup now, then apply the retention to this source's snapshots. `signal`: SIGTERM of a run (run-plan.ts). */
export async function backupSource(i: BackupSourceInputs, overrides: ConnectionOverrides = {}, signal?: AbortSignal): Promise<BackupSourceOutputs> {
  validateSource(i);
  await withStore(i.store, async (repo) => {
    const locations = await withScaleway(i.scaleway, i.zone, i.bucket, overrides, async (clients, staging) => {
      const { backupBlockVolume, backupInstance } = await import('../engine/scaleway');
      const common = { zone: i.zone, bucket: i.bucket, prefix: i.stagingPrefix, tags: snapshotTags(i), hostname: 'scw-backup-pulumi', signal };
      if (i.kind === 'volume') {
        await backupBlockVolume(repo, clients, staging, { ...common, volumeId: i.resourceId });
        return [sourceLocation(i)];
      }
      const r = await backupInstance(repo, clients, staging, { ...common, serverId: i.resourceId });
      return [sourceLocation(i), ...r.volumes.map((v) => v.snapshot.source.location)];
    });
    if (hasRetention(i.retention)) {
      await forgetSnapshots(repo, { policy: retentionPolicy(i.retention), groupBy: ['location'], locations, timeZone: i.timeZone, signal });
    }
  });
  return readSource(i);
}

export interface SourceDiff {
  /** Why an update is wanted; empty when nothing is. */
  reasons: string[];
  replaces: string[];
  /** Whether the update takes a backup (runner `pulumi`), rather than only recording new inputs. */
  backup: boolean;
  /** The reasons that are drift: the store lacks what the state promised. */
  drift: string[];
}

/**
 * The update found the store short of what the state promised. The update itself went through (the
 * backup is taken, `outputs` record what the store holds now): this error only makes `pulumi up`
 * say so, once, so that CI raises the alarm instead of the update quietly moving on.
 */
export class SourceDriftError extends BackupError {
  constructor(readonly location: string, readonly drift: string[], readonly outputs: BackupSourceOutputs) {
    super('SOURCE_DRIFT', `${location}: the store lost what the state promised (${drift.join('; ')}); ` +
      'the update went through and the state now records what the store holds: restore the lost snapshots from a copy if you have one');
  }
}

/**
 * Why an update is wanted. `now` is injectable (tests advance it). In a preview with inputs not
 * known yet (a new key, a new bucket), the answer is given without the network: an update, and a
 * replacement only for a replace-input known to change.
 */
export async function diffSource(olds: BackupSourceOutputs, news: BackupSourceInputs, now: Date): Promise<SourceDiff> {
  const replaces = knownChanges(olds, news, REPLACE_INPUTS) as string[];
  if (replaces.length > 0) return { reasons: replaces.map((k) => `${k} changed`), replaces, backup: true, drift: [] };
  const changed = knownChanges(olds, news, BACKUP_INPUTS).map((k) => `${k} changed`);
  const unknown = unknownKeys(news);
  if (unknown.length > 0) {
    return { reasons: [...changed, `${unknown.join(', ')}: known only when the update runs`], replaces: [], backup: changed.length > 0, drift: [] };
  }
  const reconnect = knownChanges(olds, news, CONNECTION_INPUTS).map((k) => `${k} changed`);
  const { view, held, presentIds, damaged } = await storeView(news);
  const drift = storeDrift(olds, news, { held, presentIds, damaged }, now);
  const last = view.lastSnapshotTime ? new Date(view.lastSnapshotTime) : undefined;
  const due = dueReason(olds, news, last, now);
  const backup = [...changed, ...drift, ...(due ? [due] : [])];
  return { reasons: [...backup, ...reconnect], replaces: [], backup: backup.length > 0, drift };
}

/** Diff, and its reasons filed under the resource in the engine's log (what `pulumi preview` shows beside it). */
export async function diffAndReport(olds: BackupSourceOutputs, news: BackupSourceInputs, now: Date): Promise<SourceDiff> {
  const d = await diffSource(olds, news, now);
  for (const reason of d.reasons) await tellEngine(news.resourceUrn, 'info', reason);
  return d;
}

/** Create: check the source, then (unless told not to) take the first backup. */
export async function createSource(i: BackupSourceInputs, overrides: ConnectionOverrides = {}): Promise<BackupSourceOutputs> {
  validateSource(i);
  await checkSourceExists(i, overrides);
  const watchingSince = new Date().toISOString();
  if (i.backupOnCreate === false || i.runner === 'job') return { ...(await readSource(i)), watchingSince };
  return { ...(await backupSource(i, overrides)), watchingSince };
}

/**
 * Update: take the backup when one is wanted and this runner takes them; otherwise (a job takes them,
 * or only the connection changed: a rotated key) record the store's view with the new inputs. Either
 * way the state's promise becomes what the store holds. Drift found on the way is acknowledged that
 * way, and reported: SourceDriftError, with the new outputs.
 */
export async function updateSource(olds: BackupSourceOutputs, i: BackupSourceInputs, overrides: ConnectionOverrides = {}): Promise<BackupSourceOutputs> {
  validateSource(i);
  const wanted = await diffSource(olds, i, new Date());
  const out = { ...(i.runner !== 'job' && wanted.backup ? await backupSource(i, overrides) : await readSource(i)), watchingSince: olds.watchingSince };
  if (wanted.drift.length > 0) throw new SourceDriftError(sourceLocation(i), wanted.drift, out);
  return out;
}

/**
 * Update for the Node dynamic-provider plugin. A SourceDriftError becomes what the plugin sends as a
 * partial failure (cmd/dynamic-provider/index.js grpcResponseFromError: an error with `id`,
 * `properties` and `reasons` is packed as ErrorResourceInitFailed): the engine records the new
 * outputs and fails `pulumi up` with the reason (provider_plugin.go parseError, step.go
 * UpdateStep.Apply); the resource's init errors make the next run update it once more, which clears
 * them. `properties` carry `__provider` as the plugin's own answers do (resultIncludingProvider).
 */
export async function updateForPlugin(id: string, olds: BackupSourceOutputs, news: BackupSourceInputs & { __provider?: string }): Promise<{ outs: BackupSourceOutputs }> {
  try {
    return { outs: await updateSource(olds, news) };
  } catch (err) {
    if (!(err instanceof SourceDriftError)) throw err;
    throw Object.assign(err, { id, properties: { ...err.outputs, __provider: news.__provider }, reasons: [err.message] });
  }
}

/**
 * Read (refresh): the store's view, keeping what the state promised. A last snapshot gone from the
 * store (or damaged there) stays the state's `lastSnapshotId` (unless a newer one came since),
 * snapshots the retention still keeps stay in `retained`, and `status` says `damaged-in-store` or
 * `missing-from-store`: a refresh never hides drift.
 */
export async function refreshSource(olds: BackupSourceOutputs, now = new Date()): Promise<BackupSourceOutputs> {
  const { view, held, presentIds, damaged } = await storeView(olds, now);
  const retained = keptNow(olds, olds.retained ?? [], held, now).map((k) => k.snapshot);
  const drift = storeDrift(olds, olds, { held, presentIds, damaged }, now);
  const lastDamaged = damaged.some((d) => d.id === olds.lastSnapshotId);
  const lastGone = olds.lastSnapshotId !== undefined && !presentIds.has(olds.lastSnapshotId);
  const newer = view.lastSnapshotTime !== undefined && (olds.lastSnapshotTime === undefined || Date.parse(view.lastSnapshotTime) > Date.parse(olds.lastSnapshotTime));
  const keepLast = lastGone && !newer
    ? { lastSnapshotId: olds.lastSnapshotId, lastSnapshotTime: olds.lastSnapshotTime, bytesRead: olds.bytesRead, bytesNew: olds.bytesNew, bytesStored: olds.bytesStored }
    : {};
  return {
    ...view, ...keepLast, retained, watchingSince: olds.watchingSince,
    ...(drift.length > 0 ? { status: lastDamaged ? 'damaged-in-store' as const : 'missing-from-store' as const } : {}),
  };
}
