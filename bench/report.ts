import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { BenchCase, CaseId } from './cases';
import type { Dataset } from './dataset';
import { flatnessMarkdown, type FlatnessRow } from './flatness';
import { bigFileBytes, fileLevelMarkdown, type FileLevelRow } from './file-level';
import { formatCostsMarkdown, type FormatCosts } from './format-costs';
import { fleetMarkdown, type FleetReport } from './fleet-report';
import { formatByMethod, median, type CaseFigures, type RequestCounts, type Summary } from './measure';
import { targetsMarkdown } from './targets';
import type { ToolVersions } from './tools';

export interface Machine {
  cpu: string;
  cores: number;
  ramBytes: number;
  kernel: string;
  node: string;
  restic: string;
  qemuImg: string;
}

export function machineInfo(versions: ToolVersions): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  return {
    cpu,
    cores: os.cpus().length,
    ramBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    restic: versions.restic,
    qemuImg: versions.qemuImg,
  };
}

export interface CaseResult {
  title: string;
  input: string;
  ours: CaseFigures | null;
  restic: CaseFigures | null;
  /** Set when restic's figures are those of another case with the same input (restic has one chunker). */
  resticFrom?: CaseId;
}

export interface HistoryEntry {
  date: string;
  commit: string;
  size: string;
  runs: number;
  command: string;
  /** BENCH_* settings of that run (a BENCH_OURS_CMD means "ours" was not the real CLI). */
  env: Record<string, string>;
  dataset: { virtualSize: number; dataBytes: number; files: number; changedBytes: number };
  loadAvg: { start: number[]; end: number[] };
  cases: Partial<Record<CaseId, { ours: Summary | null; restic: Summary | null }>>;
}

/** bench/results.json: the shape asked for, plus `cases` (every case) and `history` (earlier runs). */
export interface ResultsJson {
  machine: Machine;
  date: string;
  changedBytes: number;
  ours: Summary | null;
  restic: Summary | null;
  cases: Partial<Record<CaseId, CaseResult>>;
  flatness: FlatnessRow[];
  fileLevel?: FileLevelRow[];
  formatCosts?: FormatCosts;
  fleet?: FleetReport;
  history: HistoryEntry[];
}

export interface Report {
  machine: Machine;
  date: string;
  commit: string;
  command: string;
  env: Record<string, string>;
  runs: number;
  dataset: Dataset;
  cases: BenchCase[];
  results: Partial<Record<CaseId, CaseResult>>;
  /** Memory against disk size (bench/flatness.ts); empty when not measured. */
  flatness: FlatnessRow[];
  /** ls and dump against a whole restore (bench/file-level.ts); empty when not measured. */
  fileLevel: FileLevelRow[];
  /** The store format's own costs (bench/format-costs.ts); undefined when ours did not run. */
  formatCosts?: FormatCosts;
  /** The fleet-scale case (bench/fleet.ts); undefined when not run. */
  fleet?: FleetReport;
  methodNotes: string[];
  wallSeconds: number;
  /** os.loadavg() before and after: other work on the machine skews the figures. */
  loadAvg: { start: number[]; end: number[] };
}

const pick = (f: CaseFigures | null): Summary | null =>
  f ? { firstS: f.firstS, secondS: f.secondS, secondAddedBytes: f.secondAddedBytes, restoreS: f.restoreS, peakRssMiB: f.peakRssMiB } : null;

/** History kept in the previous results.json, if it is readable. */
export async function readHistory(resultsJson: string): Promise<HistoryEntry[]> {
  try {
    const prev = JSON.parse(await fsp.readFile(resultsJson, 'utf8')) as Partial<ResultsJson>;
    return Array.isArray(prev.history) ? prev.history : [];
  } catch {
    return [];
  }
}

export function historyEntry(r: Report): HistoryEntry {
  const cases: HistoryEntry['cases'] = {};
  for (const c of r.cases) {
    const res = r.results[c.id];
    if (res) cases[c.id] = { ours: pick(res.ours), restic: pick(res.restic) };
  }
  return {
    date: r.date,
    commit: r.commit,
    size: r.dataset.spec.size,
    runs: r.runs,
    command: r.command,
    env: r.env,
    dataset: { virtualSize: r.dataset.spec.virtualSize, dataBytes: r.dataset.dataBytes, files: r.dataset.files, changedBytes: r.dataset.changedBytes },
    loadAvg: r.loadAvg,
    cases,
  };
}

export function resultsJson(r: Report, history: HistoryEntry[]): ResultsJson {
  const raw = r.results.raw;
  return {
    machine: r.machine,
    date: r.date,
    changedBytes: r.dataset.changedBytes,
    ours: pick(raw?.ours ?? null),
    restic: pick(raw?.restic ?? null),
    cases: r.results,
    flatness: r.flatness,
    fileLevel: r.fileLevel,
    formatCosts: r.formatCosts,
    fleet: r.fleet,
    history,
  };
}

// ---- Markdown ----

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function bytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

const bytesExact = (n: number): string => `${bytes(n)} (${n.toLocaleString('en-US')} B)`;

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

function row(label: string, o: CaseFigures | null, rs: CaseFigures | null, get: (f: CaseFigures) => number, fmt: (n: number) => string): string {
  const ov = o ? get(o) : undefined;
  const rv = rs ? get(rs) : undefined;
  return `| ${label} | ${ov === undefined ? '–' : fmt(ov)} | ${rv === undefined ? '–' : fmt(rv)} | ${ratio(ov, rv)} |`;
}

function reported(f: CaseFigures | null): string {
  if (!f) return '–';
  const e = Object.entries(f.reportedSecond).filter(([, v]) => Number.isFinite(v));
  return e.length ? e.map(([k, v]) => `${k} ${bytes(v)}`).join(', ') : '–';
}

function caseTable(c: BenchCase, res: CaseResult, virtualSize: number, changedBytes: number, qcowFileBytes: number): string {
  const { ours: o, restic: rs } = res;
  const sec = (n: number): string => n.toFixed(2);
  const mbps = (n: number): string => n.toFixed(0);
  const mib = (n: number): string => n.toFixed(1);
  const lines = [
    `### ${c.id}: ${c.title}`,
    '',
    ...(res.resticFrom ? [`restic runs once per image: its column repeats the \`${res.resticFrom}\` runs.`, ''] : []),
    '| median | ours | restic | ours/restic |',
    '|---|---:|---:|---:|',
    row('first backup (s)', o, rs, (f) => f.firstS, sec),
    row(`first backup (MB/s of the ${bytes(virtualSize)} disk)`, o, rs, (f) => f.firstMBps, mbps),
    row('second backup (s)', o, rs, (f) => f.secondS, sec),
    row(`second backup (MB/s of the disk)`, o, rs, (f) => f.secondMBps, mbps),
    row('second backup: bytes added to the store (`du -sb` growth)', o, rs, (f) => f.secondAddedBytes, bytesExact),
    row(`… per changed byte (${bytes(changedBytes)} changed)`, o, rs, (f) => f.secondAddedBytes / changedBytes, (n) => `${n.toFixed(2)}×`),
    row('store after the first backup (`du -sb`)', o, rs, (f) => f.storeAfterFirstBytes, bytesExact),
    row('restore (s)', o, rs, (f) => f.restoreS, sec),
    row('restore (MB/s of the disk)', o, rs, (f) => f.restoreMBps, mbps),
    row('peak RSS (MiB), largest of the three commands', o, rs, (f) => f.peakRssMiB, mib),
    row('peak RSS first backup (MiB)', o, rs, (f) => f.rssMiB.first, mib),
    row('peak RSS second backup (MiB)', o, rs, (f) => f.rssMiB.second, mib),
    row('peak RSS restore (MiB)', o, rs, (f) => f.rssMiB.restore, mib),
    row('init (s, not in the ratios above)', o, rs, (f) => f.initS, sec),
    `| second backup, as reported by the tool | ${reported(o)} | ${reported(rs)} | |`,
    ...(c.input === 'qcow2' && o?.reportedSecond.containerBytesRead !== undefined
      ? ['', `Our second backup read ${bytesExact(o.reportedSecond.containerBytesRead)} of the ${bytesExact(qcowFileBytes)}-byte QCOW2 file (allocated clusters and metadata only; unallocated clusters are never read).`]
      : []),
    '',
    'Per run (first / second / restore seconds, bytes added):',
    '',
    ...(['ours', 'restic'] as const).map((t) => {
      const f = res[t];
      if (!f) return `- ${t}: not run`;
      return `- ${t}: ${f.runs.map((r) => `${r.firstS.toFixed(2)} / ${r.secondS.toFixed(2)} / ${r.restoreS.toFixed(2)} s, ${r.secondAddedBytes.toLocaleString('en-US')} B`).join('; ')}`;
    }),
    '',
  ];
  return lines.join('\n');
}

/**
 * The s3 case: ours only, against the local S3 server; one row per command with its time, rate,
 * S3 requests (counted by the proxy), peak RSS and what it added to the bucket.
 */
function s3Table(c: BenchCase, res: CaseResult, virtualSize: number, changedBytes: number): string {
  const o = res.ours;
  const head = [`### ${c.id}: ${c.title}`, ''];
  if (!o) return [...head, 'Not run (it is an ours-only case: BENCH_TOOLS must include ours).', ''].join('\n');
  const req = (r: RequestCounts | undefined): string[] => (r ? [String(r.total), formatByMethod(r.byMethod), String(r.maxInFlight)] : ['–', '–', '–']);
  const mbps = (n: number): string => n.toFixed(0);
  const added = `${bytesExact(o.secondAddedBytes)}, ${(o.secondAddedBytes / changedBytes).toFixed(2)}× the ${bytes(changedBytes)} changed`;
  const rows: string[][] = [
    ['init', o.initS.toFixed(2), '–', ...req(o.requests?.init), (median(o.runs.map((r) => r.rssKiB.init)) / 1024).toFixed(1), '–'],
    ['first backup', o.firstS.toFixed(2), mbps(o.firstMBps), ...req(o.requests?.first), o.rssMiB.first.toFixed(1), `${bytesExact(o.storeAfterFirstBytes)} (store after it)`],
    ['second backup', o.secondS.toFixed(2), mbps(o.secondMBps), ...req(o.requests?.second), o.rssMiB.second.toFixed(1), added],
    ['restore', o.restoreS.toFixed(2), mbps(o.restoreMBps), ...req(o.requests?.restore), o.rssMiB.restore.toFixed(1), '–'],
  ];
  return [
    ...head,
    'restic is not run in this case (restic against S3 is out of scope). The restore is compared byte for byte with image 2, as in the other cases.',
    '',
    `| median | s | MB/s of the ${bytes(virtualSize)} disk | S3 requests | by kind | most in flight | peak RSS (MiB) | bytes added to the bucket (sum of object sizes) |`,
    '|---|---:|---:|---:|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    `| second backup, as reported by the tool | | | | | | | ${reported(o)} |`,
    '',
    'Per run (first / second / restore seconds, bytes added, requests first / second / restore):',
    '',
    `- ours: ${o.runs
      .map((r) => `${r.firstS.toFixed(2)} / ${r.secondS.toFixed(2)} / ${r.restoreS.toFixed(2)} s, ${r.secondAddedBytes.toLocaleString('en-US')} B${r.requests ? `, ${r.requests.first.total} / ${r.requests.second.total} / ${r.requests.restore.total} requests` : ''}`)
      .join('; ')}`,
    '',
  ].join('\n');
}

/** The question of the issue: fixed-size vs FastCDC, for throughput and for what a second backup stores. */
function chunkerTable(r: Report): string {
  // The default chunker is fixed-size (64 KiB), so the default raw case is the fixed side.
  const fixed = r.results.raw;
  const cdc = r.results['raw-fastcdc'];
  if (!fixed?.ours || !cdc?.ours) return '';
  const f = fixed.ours;
  const c = cdc.ours;
  const rs = fixed.restic ?? cdc.restic;
  const changed = r.dataset.changedBytes;
  const line = (label: string, get: (x: CaseFigures) => number, fmt: (n: number) => string): string =>
    `| ${label} | ${fmt(get(f))} | ${fmt(get(c))} | ${ratio(get(c), get(f))} | ${rs ? fmt(get(rs)) : '–'} |`;
  return [
    '### Fixed-size vs FastCDC (ours), raw image',
    '',
    '| median | fixed | fastcdc | fastcdc/fixed | restic (its CDC) |',
    '|---|---:|---:|---:|---:|',
    line('first backup (MB/s of the disk)', (x) => x.firstMBps, (n) => n.toFixed(0)),
    line('second backup (s)', (x) => x.secondS, (n) => n.toFixed(2)),
    line('second backup: bytes added', (x) => x.secondAddedBytes, bytes),
    line('bytes added per changed byte', (x) => x.secondAddedBytes / changed, (n) => `${n.toFixed(2)}×`),
    line('store after the first backup', (x) => x.storeAfterFirstBytes, bytes),
    line('restore (MB/s of the disk)', (x) => x.restoreMBps, (n) => n.toFixed(0)),
    '',
  ].join('\n');
}

function historyTable(history: readonly HistoryEntry[]): string {
  if (history.length === 0) return '_No runs yet._\n';
  const f = (s: Summary | null | undefined): string =>
    s ? `${s.firstS.toFixed(1)} / ${s.secondS.toFixed(1)} / ${bytes(s.secondAddedBytes)} / ${s.restoreS.toFixed(1)} / ${s.peakRssMiB.toFixed(0)}` : '–';
  const out = [
    'Each cell: first backup s / second backup s / bytes added by the second / restore s / peak RSS MiB (medians).',
    '',
    '| date | commit | size | runs | load 1 min (start) | case | ours | restic | settings |',
    '|---|---|---|---:|---:|---|---|---|---|',
  ];
  for (const h of history) {
    const env = Object.entries(h.env ?? {})
      .filter(([k]) => k !== 'BENCH_RUNS' && k !== 'BENCH_SIZE')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const load = h.loadAvg ? h.loadAvg.start[0].toFixed(2) : '–';
    for (const [id, c] of Object.entries(h.cases)) {
      out.push(`| ${h.date.slice(0, 16).replace('T', ' ')} | ${h.commit} | ${h.size} | ${h.runs} | ${load} | ${id} | ${f(c?.ours)} | ${f(c?.restic)} | ${env} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function resultsMarkdown(r: Report, history: readonly HistoryEntry[]): string {
  const m = r.machine;
  const d = r.dataset;
  const envLine = Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join(' ');
  const parts = [
    '# scw-backup vs restic',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${r.date}, commit ${r.commit}. This file is rewritten on every`,
    'full-size run; the History section at the end carries earlier runs over (from bench/results.json).',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores`,
    `- RAM: ${bytes(m.ramBytes)}`,
    `- Kernel: ${m.kernel}`,
    `- Node ${m.node}; ${m.restic}; ${m.qemuImg}`,
    `- Load average (1/5/15 min) at start: ${r.loadAvg.start.map((x) => x.toFixed(2)).join(' / ')}, at end: ${r.loadAvg.end.map((x) => x.toFixed(2)).join(' / ')}`,
    '  (anything above ~0.1 at start means other work shared the 2 cores with the bench)',
    '',
    '## Command',
    '',
    '```',
    `${envLine ? `${envLine} ` : ''}${r.command}`,
    '```',
    '',
    `${r.runs} run(s) per tool and case, median reported; whole bench took ${(r.wallSeconds / 60).toFixed(1)} min.`,
    '',
    '## Dataset',
    '',
    `- Image 1: raw disk image, ${bytesExact(d.spec.virtualSize)} virtual size, sparse (${bytesExact(d.raw1AllocatedBytes)} allocated),`,
    `  one ext4 file system made with \`mke2fs -t ext4 -d STAGING image ${d.spec.virtualSize / GiB >= 1 ? `${d.spec.virtualSize / GiB}G` : `${d.spec.virtualSize / MiB}M`}\`, holding`,
    `  ${d.files.toLocaleString('en-US')} files in ${d.dirs.toLocaleString('en-US')} folders, ${bytesExact(d.dataBytes)} of file data, copied from`,
    `  ${d.spec.sourceRoots.join(', ')} (round-robin over the folders, one file at a time, each walked in sorted order, until within`,
    `  64 KiB of ${bytes(d.spec.dataTarget)}; symlinks skipped, hard links counted once)${d.perRoot ? `: ${Object.entries(d.perRoot).map(([k, v]) => `${k} ${v.files.toLocaleString('en-US')} files / ${bytes(v.bytes)}`).join(', ')}` : ''}.`,
    `- Image 2: \`cp --sparse=always\` of image 1, then ${d.spec.writes} writes of ${bytes(d.spec.writeSize)} of random bytes at distinct`,
    `  ${bytes(d.spec.writeSize)}-aligned offsets drawn uniformly below ${bytes(d.spec.writeRegion)} (mulberry32, seed 0x${d.spec.seed.toString(16)}).`,
    `  Changed bytes: ${bytesExact(d.changedBytes)} (${d.differingBytes.toLocaleString('en-US')} B actually differ).`,
    `- QCOW2 conversions (\`qemu-img convert -O qcow2\`): ${bytesExact(d.qcow1FileBytes)} and ${bytesExact(d.qcow2FileBytes)}.`,
    `- Built in ${d.buildSeconds.toFixed(0)} s on ${d.builtAt}, cached in bench/work/.`,
    '',
    '## Method',
    '',
    ...r.methodNotes.map((n) => `- ${n}`),
    '',
    '## Results',
    '',
    // The targets are set for our default chunker and a local store, with restic in the same run.
    targetsMarkdown(
      r.cases.filter((c) => c.oursInit.length === 0 && c.store !== 's3').map((c) => ({ id: c.id, ours: r.results[c.id]?.ours ?? null, restic: r.results[c.id]?.restic ?? null })),
      r.flatness,
      d.changedBytes,
      // raw-kdf16 runs ours only; its restic column repeats the raw runs (same image, same run).
      { id: 'raw-kdf16', ours: r.results['raw-kdf16']?.ours ?? null, restic: r.results['raw-kdf16']?.restic ?? null },
    ),
    ...r.cases.map((c) => {
      const res = r.results[c.id];
      if (!res) return `### ${c.id}: not run\n`;
      return c.store === 's3' ? s3Table(c, res, d.spec.virtualSize, d.changedBytes) : caseTable(c, res, d.spec.virtualSize, d.changedBytes, d.qcow2FileBytes);
    }),
    chunkerTable(r),
    flatnessMarkdown(r.flatness),
    fileLevelMarkdown(r.fileLevel, bigFileBytes(d)),
    formatCostsMarkdown(r.formatCosts),
    fleetMarkdown(r.fleet),
    '## History',
    '',
    historyTable(history),
  ];
  return parts.join('\n');
}
