/**
 * The compliance report from what was read of the store (collect.ts): snapshots grouped into sources
 * (an Instance's volume snapshots folded into the Instance), each source's policy resolved (the plan,
 * else an `rpo` tag, else the caller's defaults by tags), its facts (source-facts.ts), the sources that
 * stand out, and the store's figures. Pure: the clock and the period are inputs.
 */
import { isInstanceGroup } from '../scaleway/instance-group';
import type { DamagedDrill, Drill } from '../store/drill-record';
import type { SnapshotSummary } from '../store/snapshot';
import type { DamagedSnapshot } from '../store/snapshot-file';
import { sourceFacts, type SourceHistory } from './source-facts';
import type { ComplianceReport, ExpectedSource, PruneForecast, SourcePolicy, SourceReport, StoreReport } from './types';

/** What the sources' facts are made of. */
export interface SourcesInput {
  /** The report's time and the period's start, epoch ms. */
  now: number;
  from: number;
  /** Every readable snapshot, oldest first. */
  snapshots: SnapshotSummary[];
  /** Every readable drill record, oldest first. */
  drills: Drill[];
  /** Sources that must appear, backed up or not (a plan's). */
  expected?: ExpectedSource[];
  /** A source's policy from its newest snapshot's tags when neither the plan nor an `rpo` tag gives one. */
  defaultPolicy?: (tags: Record<string, string>) => SourcePolicy | undefined;
}

export interface ReportInput extends SourcesInput {
  damagedSnapshots: DamagedSnapshot[];
  damagedDrills: DamagedDrill[];
  store: Pick<StoreReport, 'location' | 'formatVersion' | 'packs' | 'packBytes' | 'uniqueBytes' | 'drills'> & { uniqueStoredBytes: number; prune: PruneForecast };
}

export const UNSPECIFIED = 'unspecified';
const ENV_ORDER = ['production', 'staging', 'development'];
const CLASS_ORDER = ['critical', 'database', 'pii', 'standard'];

/**
 * A source's identity: a cloud location names one resource wherever it is backed up from; a local
 * path names a disk only together with its host (web.img on two hypervisors is two disks).
 */
function keyOf(location: string, hostname: string): string {
  return location.includes('://') ? location : `${hostname}\u0000${location}`;
}

/** An `rpo=4h` tag: whole minutes, hours or days, as BackupSource schedules are written. */
function rpoTag(tags: Record<string, string>): { seconds: number; text: string } | undefined {
  const m = /^(\d+)\s*([mhd])$/.exec(tags.rpo?.trim() ?? '');
  if (!m || Number(m[1]) === 0) return undefined;
  return { seconds: Number(m[1]) * { m: 60, h: 3600, d: 86400 }[m[2] as 'm' | 'h' | 'd'], text: tags.rpo.trim() };
}

interface Bucket {
  location: string;
  hostname?: string;
  expected?: ExpectedSource;
  snapshots: SnapshotSummary[];
  stats: SourceHistory['stats'];
  drills: Drill[];
  size: number;
}

function bucketsOf(input: SourcesInput): Map<string, Bucket> {
  const buckets = new Map<string, Bucket>();
  const bucket = (key: string, location: string, hostname?: string): Bucket => {
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { location, hostname: location.includes('://') ? undefined : hostname, snapshots: [], stats: [], drills: [], size: 0 }));
    return b;
  };
  // An Instance's volume snapshots belong to its group: their bytes and drills count for the Instance.
  const groupKey = new Map<string, string>();
  for (const s of input.snapshots) if (isInstanceGroup(s)) groupKey.set(String(s.source.groupId), s.source.location);
  const keyOfSnapshot = new Map<string, string>();
  const sizes = new Map<string, number>(); // group snapshot id → its volumes' size
  for (const s of input.snapshots) {
    const group = !isInstanceGroup(s) && typeof s.source.groupId === 'string' ? groupKey.get(s.source.groupId) : undefined;
    const key = group ?? keyOf(s.source.location, s.hostname);
    keyOfSnapshot.set(s.id, key);
    const b = bucket(key, group ?? s.source.location, s.hostname);
    b.stats.push({ time: s.time, bytesNew: s.stats.bytesNew, bytesStored: s.stats.bytesStored });
    if (group) sizes.set(`${key} ${s.time}`, (sizes.get(`${key} ${s.time}`) ?? 0) + s.size);
    else b.snapshots.push(s);
  }
  for (const [key, b] of buckets) {
    const last = b.snapshots[b.snapshots.length - 1];
    b.size = last ? (isInstanceGroup(last) ? sizes.get(`${key} ${last.time}`) ?? 0 : last.size) : 0;
  }
  for (const d of input.drills) {
    const key = keyOfSnapshot.get(d.snapshot) ?? keyOf(d.source.location, d.source.hostname);
    bucket(key, d.source.location, d.source.hostname).drills.push(d);
  }
  // A plan names a local disk by its path alone: it applies to that path on every host seen.
  for (const e of input.expected ?? []) {
    const seen = [...buckets.values()].filter((b) => b.location === e.location);
    for (const b of seen.length > 0 ? seen : [bucket(e.location, e.location)]) b.expected = e;
  }
  return buckets;
}

function historyOf(b: Bucket, input: SourcesInput): SourceHistory {
  const tags = b.snapshots[b.snapshots.length - 1]?.tags ?? {};
  const e = b.expected;
  const defaults = input.defaultPolicy?.(tags);
  const tagged = rpoTag(tags);
  const rpo = e?.rpo ? { ...e.rpo, from: 'plan' as const } : tagged ? { ...tagged, from: 'tag' as const } : defaults?.rpo ? { ...defaults.rpo, from: 'default' as const } : undefined;
  // A plan's source keeps what the plan says (no rule: none applied), never the defaults.
  const retention = e?.retention ? { rules: e.retention, from: 'plan' as const } : !e && defaults?.retention ? { rules: defaults.retention, from: 'default' as const } : undefined;
  return {
    name: e?.name ?? (b.hostname !== undefined ? `${b.location} (${b.hostname})` : b.location),
    location: b.location,
    hostname: b.hostname,
    environment: e?.environment ?? tags.environment ?? UNSPECIFIED,
    dataClass: e?.dataClass ?? tags.dataClass ?? UNSPECIFIED,
    snapshots: b.snapshots,
    size: b.size,
    stats: b.stats,
    drills: b.drills,
    rpo,
    retention,
  };
}

function rank(order: readonly string[], value: string): number {
  const i = order.indexOf(value.toLowerCase());
  return value === UNSPECIFIED ? order.length + 1 : i < 0 ? order.length : i;
}

/** Worst first: no backup, overdue, failed drill, missing drill. */
function severity(s: SourceReport): number {
  if (s.status === 'no-backup') return 0;
  if (s.status === 'overdue') return 1;
  return s.drillStatus === 'failed' ? 2 : 3;
}

/** Cumulative bytes stored by the backups still in the store, at the end of each UTC day of the period. */
function growth(snapshots: readonly SnapshotSummary[], from: number, now: number): StoreReport['growth'] {
  const events = snapshots.map((s) => [Date.parse(s.time), s.stats.bytesStored] as const).sort((a, b) => a[0] - b[0]);
  const out: StoreReport['growth'] = [];
  let total = 0;
  let i = 0;
  const DAY = 86_400_000;
  for (let day = Math.floor(from / DAY) * DAY; day <= now; day += DAY) {
    while (i < events.length && events[i][0] < day + DAY) total += events[i++][1];
    out.push({ date: new Date(day).toISOString().slice(0, 10), storedBytes: total });
  }
  return out;
}

/** Every source's facts: those with snapshots or drills in the store, and those expected. */
export function sourceReports(input: SourcesInput): SourceReport[] {
  return [...bucketsOf(input).values()].map((b) => sourceFacts(historyOf(b, input), input.now, input.from));
}

export function buildReport(input: ReportInput): ComplianceReport {
  const sources = sourceReports(input);
  const groups = new Map<string, ComplianceReport['groups'][number]>();
  for (const s of sources) {
    const key = `${s.environment}\u0000${s.dataClass}`;
    if (!groups.has(key)) groups.set(key, { environment: s.environment, dataClass: s.dataClass, sources: [] });
    groups.get(key)?.sources.push(s);
  }
  const sorted = [...groups.values()].sort((a, b) => rank(ENV_ORDER, a.environment) - rank(ENV_ORDER, b.environment) || a.environment.localeCompare(b.environment) ||
    rank(CLASS_ORDER, a.dataClass) - rank(CLASS_ORDER, b.dataClass) || a.dataClass.localeCompare(b.dataClass));
  for (const g of sorted) g.sources.sort((a, b) => a.name.localeCompare(b.name));
  const disks = input.snapshots.filter((s) => !isInstanceGroup(s));
  const logicalBytes = disks.reduce((n, s) => n + s.size - s.stats.holeBytes, 0);
  const st = input.store;
  return {
    version: 1,
    generated: new Date(input.now).toISOString(),
    period: { from: new Date(input.from).toISOString(), to: new Date(input.now).toISOString() },
    store: {
      location: st.location, formatVersion: st.formatVersion, snapshots: input.snapshots.length, packs: st.packs, packBytes: st.packBytes,
      logicalBytes, uniqueBytes: st.uniqueBytes,
      dedupRatio: st.uniqueBytes > 0 ? logicalBytes / st.uniqueBytes : null,
      compressionRatio: st.uniqueStoredBytes > 0 ? st.uniqueBytes / st.uniqueStoredBytes : null,
      growth: growth(input.snapshots, input.from, input.now),
      drills: st.drills,
      prune: st.prune,
    },
    attention: sources.filter((s) => s.attention.length > 0).sort((a, b) => severity(a) - severity(b) || a.name.localeCompare(b.name))
      .map((s) => ({ name: s.name, location: s.location, reasons: s.attention })),
    groups: sorted,
    damaged: { snapshots: input.damagedSnapshots, drills: input.damagedDrills },
  };
}
