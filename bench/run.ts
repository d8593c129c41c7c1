/**
 * `npm run bench`: our engine and restic side by side, same data, same process run.
 *
 * Env:
 *   BENCH_SIZE   full (default: 4 GiB disk, ~1.4 GiB of files, 200 writes) | small (256 MiB, ~80 MiB, 20 writes)
 *   BENCH_RUNS   runs per tool and case, median reported (default 3)
 *   BENCH_CASES  comma list of raw, raw-fastcdc, qcow2, s3 (default: all; s3 is ours only, against the local S3 server)
 *   BENCH_TOOLS  comma list of ours, restic (default: both)
 *   BENCH_OURS_CMD  command that runs our CLI instead of `node bin/scw-backup.js`
 *   BENCH_FLATNESS  1 (default when ours runs) | 0: memory against disk size, 16x the disk, same data
 *   BENCH_FLEET  full (default for full size) | small (default for small) | 0: the fleet-scale case (fleet.ts)
 *
 * Full-size runs write bench/RESULTS.md and bench/results.json; small runs write them
 * under bench/work/results-small/ so a smoke run never overwrites the published figures.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasResticColumn, selectCases, type BenchCase, type CaseId } from './cases';
import { measureFileLevel, type FileLevelRow } from './file-level';
import { ensureDataset, SPECS, type Dataset, type DatasetSize } from './dataset';
import { measureFlatness, type FlatnessRow } from './flatness';
import { measureFormatCosts, type FormatCosts } from './format-costs';
import { fleetSpec, measureFleet } from './fleet';
import type { FleetReport } from './fleet-report';
import { BenchError, run } from './exec';
import { formatByMethod, runSequence, summarize, type CaseFigures, type RunFigures } from './measure';
import { OursRunner, oursCommand } from './ours';
import { historyEntry, machineInfo, readHistory, resultsJson, resultsMarkdown, type CaseResult, type Report } from './report';
import { ResticRunner } from './restic';
import { startBenchS3, type BenchS3 } from './s3';
import type { ImageFormat, ToolRunner } from './tool-runner';
import { ensureTools, toolVersions } from './tools';

const started = Date.now();
const loadAtStart = os.loadavg();

function log(line: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(5);
  process.stdout.write(`[${t} s] ${line}\n`);
}

/** The folder holding package.json "scw-backup": from dist/bench/ or bench/, else the cwd. */
function findRepoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      const pkg = path.join(dir, 'package.json');
      if (existsSync(pkg)) {
        try {
          if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'scw-backup') return dir;
        } catch {
          /* keep looking */
        }
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new BenchError('cannot find the scw-backup repository (package.json) above bench/run.js or the current folder');
}

function envSize(): DatasetSize {
  const v = (process.env.BENCH_SIZE ?? 'full').trim();
  if (v === 'full' || v === 'small') return v;
  throw new BenchError(`BENCH_SIZE must be full or small, not "${v}"`);
}

function envRuns(): number {
  const v = (process.env.BENCH_RUNS ?? '3').trim();
  if (!/^[1-9]\d*$/.test(v)) throw new BenchError(`BENCH_RUNS must be a positive whole number, not "${v}"`);
  return Number(v);
}

function envTools(): Set<'ours' | 'restic'> {
  const v = (process.env.BENCH_TOOLS ?? 'ours,restic').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = v.filter((t) => t !== 'ours' && t !== 'restic');
  if (bad.length || v.length === 0) throw new BenchError(`BENCH_TOOLS: expected ours and/or restic, got "${process.env.BENCH_TOOLS}"`);
  return new Set(v as Array<'ours' | 'restic'>);
}

function envFiles(): boolean {
  const v = (process.env.BENCH_FILES ?? '1').trim();
  if (v === '0' || v === '1') return v === '1';
  throw new BenchError(`BENCH_FILES must be 0 or 1, not "${v}"`);
}

function envFlatness(): boolean {
  const v = (process.env.BENCH_FLATNESS ?? '1').trim();
  if (v === '0' || v === '1') return v === '1';
  throw new BenchError(`BENCH_FLATNESS must be 0 or 1, not "${v}"`);
}

async function gitCommit(root: string): Promise<string> {
  try {
    const head = (await run(['git', '-C', root, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
    // GIT_OPTIONAL_LOCKS=0: read-only status, no index refresh written back.
    const st = await run(['git', '-C', root, 'status', '--porcelain', '--untracked-files=no'], { env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } });
    return st.stdout.trim() ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** One measured thing: a tool on one kind of input with one configuration. */
interface Job {
  key: string;
  runner: ToolRunner;
  input: ImageFormat;
  expectedRestore: string;
  /** Set for the s3 case: the store is a prefix of the bucket on the local S3 server. */
  s3?: BenchS3;
  runs: RunFigures[];
}

function images(ds: Dataset, f: ImageFormat): { image1: string; image2: string } {
  return f === 'raw' ? { image1: ds.raw1, image2: ds.raw2 } : { image1: ds.qcow1, image2: ds.qcow2 };
}

function methodNotes(ds: Dataset, jobs: readonly Job[], runs: number, s3: BenchS3 | undefined): string[] {
  const notes = [
    `Each run uses a fresh store under bench/work/stores/: init, back up image 1, back up image 2 into the same store, restore the latest snapshot, \`cmp\` it with image 2 (a mismatch fails the bench). ${runs} run(s); tools and cases are interleaved within each run so drift hits all alike.`,
    'Both images are hard-linked, in turn, to one fixed path (bench/work/current.raw or .qcow2) before each backup: same path for both snapshots (restic uses the first as parent), different inode and mtime (nobody skips the changed file on metadata).',
    'Page cache is not dropped. `sync` (untimed) runs before each timed command, so nobody pays for the previous command\'s writeback. Every input image is read (`cat > /dev/null`, untimed) before the first timed command and again right before each backup of it, so all runs read their input from memory (restores and their comparisons move GiBs through the page cache, and the kernel was seen to evict part of an image before its last use).',
    'Times are wall clock around each command, process start and passphrase KDF included. Peak RSS is GNU `/usr/bin/time -f %M`. Bytes added = growth of `du -sb STORE` over the second backup.',
    `MB/s = virtual disk size (${ds.spec.virtualSize.toLocaleString('en-US')} B) / seconds, 1 MB = 10^6 B, for both tools and both formats (restic reads the QCOW2 file itself, which is smaller).`,
    'restic: `--no-cache` (our tool keeps no cache; for a local repository the cache would copy metadata between two folders of one disk); defaults otherwise (repository format 2, `--compression auto` = zstd, 16 MiB packs). restic 0.14 `restore` has no `--sparse`: it writes the zeros of the disk out as data, we keep holes. restic\'s local backend fsyncs each file it stores. restic draws a random chunker polynomial per repository, so its chunk boundaries, and what its second backup adds, differ from one fresh store to the next (hence the per-run figures).',
  ];
  if (s3) {
    notes.push(
      's3 case (ours only: restic against S3 is out of scope): the store is `s3://bench/run-N` on the local S3 server of the tests (test/rig/s3-server.ts: s3rver, started inside the bench\'s own Node process, data in a temporary folder on the local disk), reached over loopback through the test fault proxy (test/rig/fault-proxy.ts) with no faults queued, which counts every request. The CLI gets SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_BACKUP_S3_ENDPOINT (the proxy) and SCW_DEFAULT_REGION. Requests are counted per command (a GET on the bucket itself is a LIST); bytes added = growth of the sum of the object sizes listed under the prefix (listed directly from s3rver, not counted). s3rver shares the CPU with the CLI and has no network latency: the times say what the S3 code path costs here, not what Scaleway Object Storage would take.',
    );
  }
  for (const j of jobs) notes.push(`${j.key}: ${j.runner.describe()}`);
  return notes;
}

async function main(): Promise<void> {
  const root = findRepoRoot();
  const work = path.join(root, 'bench', 'work');
  const size = envSize();
  const runs = envRuns();
  const cases = selectCases(process.env.BENCH_CASES);
  const toolSet = envTools();
  if (loadAtStart[0] > 0.5) log(`warning: load average is ${loadAtStart[0].toFixed(2)}: other work is running, timings will be noisy`);
  log(`bench: size=${size} runs=${runs} cases=${cases.map((c) => c.id).join(',')} tools=${[...toolSet].join(',')}`);

  const tools = await ensureTools(log);
  const versions = await toolVersions(tools);
  log(`tools: ${versions.restic}; ${versions.qemuImg}; ${versions.mke2fs}`);

  await fsp.mkdir(work, { recursive: true });
  const ds = await ensureDataset(work, SPECS[size], tools, log);
  log(`dataset: ${ds.files} files, ${ds.dataBytes} B of data, ${ds.spec.virtualSize} B virtual, ${ds.changedBytes} B changed`);

  // Leftovers of an interrupted run.
  for (const stale of ['stores', 'restore', 'current.raw', 'current.qcow2']) await fsp.rm(path.join(work, stale), { recursive: true, force: true });

  const jobs: Job[] = [];
  if (toolSet.has('restic')) {
    const restic = new ResticRunner(tools.restic);
    for (const input of ['raw', 'qcow2'] as const) {
      if (!cases.some((c) => c.input === input && !c.oursOnly)) continue;
      jobs.push({ key: `restic-${input}`, runner: restic, input, expectedRestore: images(ds, input).image2, runs: [] });
    }
  }
  const oursJobs = new Map<CaseId, Job>();
  let s3: BenchS3 | undefined;
  if (toolSet.has('ours') && cases.some((c) => c.store === 's3')) {
    s3 = await startBenchS3();
    log(`s3: local S3 server ${s3.serverEndpoint}, counting proxy ${s3.proxyEndpoint}, bucket bench`);
  } else if (cases.some((c) => c.store === 's3')) {
    log('s3: skipped, it is an ours-only case and BENCH_TOOLS does not include ours');
  }
  try {
    if (toolSet.has('ours')) {
      const cmd = oursCommand(root, process.env.BENCH_OURS_CMD);
      log(`ours: ${cmd.join(' ')}`);
      for (const c of cases) {
        const expected = c.oursRestore === 'raw' ? ds.raw2 : ds.qcow2;
        const site = c.store === 's3' ? s3 : undefined;
        const job: Job = {
          key: `ours-${c.id}`,
          runner: new OursRunner(cmd, c.oursInit, c.oursRestore, site?.env),
          input: c.input,
          expectedRestore: expected,
          ...(site ? { s3: site } : {}),
          runs: [],
        };
        jobs.push(job);
        oursJobs.set(c.id, job);
      }
    }

    for (const f of new Set(jobs.map((j) => j.input))) {
      const { image1, image2 } = images(ds, f);
      for (const img of [image1, image2]) await run(['cat', img], { discardStdout: true });
    }
    log('page cache warmed with the input images');

    for (let i = 1; i <= runs; i++) {
      for (const j of jobs) {
        log(`run ${i}/${runs} ${j.key}`);
        const { image1, image2 } = images(ds, j.input);
        const figures = await runSequence(
          {
            runner: j.runner,
            image1,
            image2,
            expectedRestore: j.expectedRestore,
            backupPath: path.join(work, `current.${j.input}`),
            store: j.s3 ? j.s3.storeUrl(i) : path.join(work, 'stores', `${j.key}-run${i}`),
            scratch: path.join(work, 'restore', j.key),
            ...(j.s3 ? { site: j.s3 } : {}),
          },
          log,
        );
        j.runs.push(figures);
      }
    }

    let flatness: FlatnessRow[] = [];
    if (toolSet.has('ours') && envFlatness()) {
      const cmd = oursCommand(root, process.env.BENCH_OURS_CMD);
      log('flatness: peak memory against disk size (ours)');
      flatness = await measureFlatness(new OursRunner(cmd, [], 'raw'), ds, tools, work, runs, log);
    }

    let fileLevel: FileLevelRow[] = [];
    if (toolSet.has('ours') && envFiles()) {
      log('files: ls and dump against a whole restore (ours)');
      fileLevel = await measureFileLevel(oursCommand(root, process.env.BENCH_OURS_CMD), ds, work, runs, log);
    }

    let formatCosts: FormatCosts | undefined;
    if (toolSet.has('ours')) {
      log('store format costs: KDF and sealing, format 1 against 2');
      formatCosts = await measureFormatCosts();
    }

    let fleet: FleetReport | undefined;
    const fleetPlan = fleetSpec(process.env.BENCH_FLEET ?? size, runs);
    if (fleetPlan && toolSet.has('ours')) {
      if (!s3 && fleetPlan.sites.includes('s3')) s3 = await startBenchS3();
      log(`fleet: ${fleetPlan.points.map((p) => `${p.blobs} blobs/${p.snapshots} snapshots`).join(', ')} on ${fleetPlan.sites.join(' and ')}`);
      const ours = oursCommand(root, process.env.BENCH_OURS_CMD);
      fleet = { spec: fleetPlan, rows: await measureFleet(fleetPlan, { ours, restic: tools.restic, work: path.join(work, 'fleet'), s3, log }) };
    }

    for (const d of ['stores', 'restore', 'fleet']) await fsp.rm(path.join(work, d), { recursive: true, force: true });

    const summary = (j: Job | undefined): CaseFigures | null => (j && j.runs.length ? summarize(j.runs, ds.spec.virtualSize) : null);
    const results: Partial<Record<CaseId, CaseResult>> = {};
    const resticOwner = new Map<ImageFormat, CaseId>();
    for (const c of cases) {
      const rj = !hasResticColumn(c) ? undefined : jobs.find((j) => j.runner.name === 'restic' && j.input === c.input);
      const from = resticOwner.get(c.input);
      if (!from && rj) resticOwner.set(c.input, c.id);
      results[c.id] = {
        title: c.title,
        input: c.input,
        ours: summary(oursJobs.get(c.id)),
        restic: summary(rj),
        ...(from && rj ? { resticFrom: from } : {}),
      };
    }

    const outDir = size === 'full' ? path.join(root, 'bench') : path.join(work, `results-${size}`);
    await fsp.mkdir(outDir, { recursive: true });
    const jsonFile = path.join(outDir, 'results.json');
    const mdFile = path.join(outDir, 'RESULTS.md');
    const benchEnv: Record<string, string> = {};
    for (const k of ['BENCH_SIZE', 'BENCH_RUNS', 'BENCH_CASES', 'BENCH_TOOLS', 'BENCH_OURS_CMD', 'BENCH_FLATNESS', 'BENCH_FILES', 'BENCH_FLEET']) {
      const v = process.env[k];
      if (v !== undefined) benchEnv[k] = v;
    }
    const report: Report = {
      machine: machineInfo(versions),
      date: new Date().toISOString(),
      commit: await gitCommit(root),
      command: process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : `node ${path.relative(root, process.argv[1] ?? 'dist/bench/run.js')}`,
      env: benchEnv,
      runs,
      dataset: ds,
      cases,
      results,
      flatness,
      fileLevel,
      formatCosts,
      fleet,
      methodNotes: methodNotes(ds, jobs, runs, s3),
      wallSeconds: (Date.now() - started) / 1000,
      loadAvg: { start: loadAtStart, end: os.loadavg() },
    };
    const history = [...(await readHistory(jsonFile)), historyEntry(report)];
    await fsp.writeFile(jsonFile, `${JSON.stringify(resultsJson(report, history), null, 2)}\n`);
    await fsp.writeFile(mdFile, resultsMarkdown(report, history));
    printSummary(cases, results);
    log(`wrote ${path.relative(root, mdFile)} and ${path.relative(root, jsonFile)}`);
  } finally {
    await s3?.stop();
  }
}

function printSummary(cases: readonly BenchCase[], results: Partial<Record<CaseId, CaseResult>>): void {
  const f = (x: CaseFigures | null): string =>
    x ? `first ${x.firstS.toFixed(2)} s, second ${x.secondS.toFixed(2)} s (+${x.secondAddedBytes} B), restore ${x.restoreS.toFixed(2)} s, RSS ${x.peakRssMiB} MiB` : 'not run';
  for (const c of cases) {
    const r = results[c.id];
    if (!r) continue;
    const req = r.ours?.requests;
    const reqLine = req
      ? `\n  requests: init ${req.init.total}, first ${req.first.total} (${formatByMethod(req.first.byMethod)}), second ${req.second.total} (${formatByMethod(req.second.byMethod)}), restore ${req.restore.total} (${formatByMethod(req.restore.byMethod)})`
      : '';
    process.stdout.write(`${c.id}\n  ours:   ${f(r.ours)}${reqLine}\n  restic: ${hasResticColumn(c) ? f(r.restic) : 'not run (ours-only case)'}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`\nBENCH FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
