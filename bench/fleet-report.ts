/**
 * The fleet-scale section of RESULTS.md (fleet.ts): the bounds issue #18 sets, whether this run met
 * them, and every figure measured.
 */
import type { CommandFigures, FleetRow, FleetSpec } from './fleet';
import { formatByMethod } from './measure';

export interface FleetReport {
  spec: FleetSpec;
  rows: FleetRow[];
}

interface Bound {
  what: string;
  measured: string;
  met: boolean | null;
}

const s = (x: number): string => `${x.toFixed(2)} s`;
const count = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n.toLocaleString('en-US'));

/** The bounds of issue #18 that this run's rows can judge. */
export function fleetBounds(rows: readonly FleetRow[]): Bound[] {
  const out: Bound[] = [];
  const largest = Math.max(...rows.map((r) => r.blobs));
  for (const r of rows.filter((x) => x.snapshots === 200 && (x.blobs === 1_000_000 || x.blobs === largest))) {
    const first = r.backup.firstStoredS;
    out.push({
      what: `${r.site}, ${count(r.blobs)} blobs: backup of a new 64 MiB image stores its first pack within 2 s and peaks under 256 MiB`,
      measured: `first pack at ${first === null ? 'never' : s(first)}, ${r.backup.peakRssMiB} MiB`,
      met: first !== null && first <= 2 && r.backup.peakRssMiB < 256,
    });
  }
  const most = Math.max(...rows.map((r) => r.snapshots));
  for (const r of rows.filter((x) => x.site === 's3' && x.snapshots === most)) {
    out.push({ what: `s3, ${count(most)} snapshots: \`snapshots\` within 2 s`, measured: `${s(r.snapshotsCmd.seconds)} (${r.snapshotsCmd.requests?.total ?? '?'} requests)`, met: most >= 20_000 ? r.snapshotsCmd.seconds <= 2 : null });
    out.push({ what: `s3, ${count(most)} snapshots: one source's latest within 0.5 s (store open)`, measured: `${r.latestS.toFixed(3)} s (${r.latestRequests ?? '?'} requests)`, met: most >= 20_000 ? r.latestS <= 0.5 : null });
  }
  return out;
}

const fig = (f: CommandFigures): string => `${s(f.seconds)}, ${f.peakRssMiB} MiB`;
const req = (f: CommandFigures): string => (f.requests ? `${f.requests.total} (${formatByMethod(f.requests.byMethod)})` : '');

export function fleetMarkdown(report: FleetReport | undefined): string {
  if (!report) return '';
  const { spec, rows } = report;
  const lines = [
    '### Fleet scale (issue #18)',
    '',
    `Synthetic stores (bench/fleet-store.ts, bench/fleet-restic.ts): N blobs in the index, M snapshots, written straight into each tool's format from seed 0x5cb0f1ee; the packs and map pages they name do not exist. ` +
      `Ours: one index table (as \`compact\` leaves it) and a catalog; restic: index files of 50,000 blobs. ${spec.runs} run(s) per store, medians; every run backs up a new 64 MiB image of random bytes (no chunk of it is in the store) with \`--host bench-new\`, then lists the snapshots. ` +
      '"first pack" is when the backup\'s `--json` progress first reports stored bytes (lines come at most every 250 ms), from the spawn: process start and KDF included. ' +
      '"list" and "latest" run in the bench process on a store already open (no KDF): every snapshot, and findSnapshot(latest) of one source. ' +
      `restic: folder only, \`--no-cache\`, up to ${count(spec.resticMaxBlobs)} blobs.`,
    '',
    '| bound | measured | met |',
    '|---|---|---|',
    ...fleetBounds(rows).map((b) => `| ${b.what} | ${b.measured} | ${b.met === null ? 'not judged (size not run)' : b.met ? 'yes' : '**no**'} |`),
    '',
    '| store | N blobs | M snapshots | build | backup (wall, peak RSS) | first pack | backup requests | `snapshots` | `snapshots` requests | list / latest in-process | restic backup | restic `snapshots` |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const restic = r.restic === undefined ? '' : 'skipped' in r.restic ? r.restic.skipped : fig(r.restic.backup);
    const resticList = r.restic === undefined || 'skipped' in r.restic ? '' : fig(r.restic.snapshotsCmd);
    lines.push(
      `| ${r.site} | ${count(r.blobs)} | ${count(r.snapshots)} | ${s(r.buildS)} | ${fig(r.backup)} | ${r.backup.firstStoredS === null ? '-' : s(r.backup.firstStoredS)} | ${req(r.backup)} | ${fig(r.snapshotsCmd)} | ${req(r.snapshotsCmd)} | ` +
        `${r.listS.toFixed(3)} / ${r.latestS.toFixed(3)} s${r.listRequests !== undefined ? ` (${r.listRequests} / ${r.latestRequests} req.)` : ''} | ${restic} | ${resticList} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
