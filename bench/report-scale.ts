/**
 * How long the compliance report takes on a store of 2,000 snapshots (issue #20): 20 sources × 100
 * daily backups of small disks, a drill record for half of them. The store is built once into
 * bench/work/report-store/ (a few minutes) and reused; then the report is collected and rendered
 * BENCH_RUNS times (default 3) and the medians printed as a Markdown table (bench/README.md keeps
 * the figures). Run: `npm run build && node dist/bench/report-scale.js`.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  RawFileSource, backupImage, collectReport, drillToFile, initRepository, listSnapshots, loadSnapshot, openRepository, renderReportHtml, type Repository,
} from '../engine';

const WORK = resolve(__dirname, '../../bench/work/report-store');
const PASS = 'bench report passphrase';
const SOURCES = 20;
const BACKUPS = 100;
const DAY = 86_400_000;
const START = Date.parse('2026-06-01T03:00:00.000Z');
const ENVS = ['production', 'staging', 'development'];
const CLASSES = ['critical', 'database', 'pii', 'standard'];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function build(): Promise<Repository> {
  await rm(WORK, { recursive: true, force: true });
  await mkdir(join(WORK, 'disks'), { recursive: true });
  const repo = await initRepository(join(WORK, 'repo'), PASS, { kdf: { time: 1, memoryKiB: 64, parallelism: 1 }, allowWeakKdf: true });
  for (let day = 0; day < BACKUPS; day++) {
    for (let s = 0; s < SOURCES; s++) {
      // 256 KiB disks: the first half the same every day, the second half new each backup.
      const img = Buffer.alloc(256 * 1024, s + 1);
      for (let i = 128 * 1024; i < img.length; i += 8) img.writeUInt32LE((day * 7919 + s * 104729 + i) >>> 0, i);
      const path = join(WORK, 'disks', `disk-${s}.img`);
      await writeFile(path, img);
      const src = await RawFileSource.open(path);
      const tags = { environment: ENVS[s % ENVS.length], dataClass: CLASSES[s % CLASSES.length], rpo: '24h' };
      await backupImage(repo, src, { time: new Date(START + day * DAY + s * 60_000), hostname: `host-${s}`, tags, workers: 0 });
      await src.close();
    }
    if (day % 10 === 9) process.stderr.write(`  ${(day + 1) * SOURCES} snapshots\n`);
  }
  const { snapshots } = await listSnapshots(repo);
  for (let s = 0; s < SOURCES; s += 2) {
    const last = snapshots.filter((x) => x.hostname === `host-${s}`).pop();
    if (last) await drillToFile(repo, await loadSnapshot(repo, last.id), { scratchDir: WORK, workers: 0 });
  }
  await writeFile(join(WORK, 'complete'), '');
  return repo;
}

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const t0 = performance.now();
  const repo = existsSync(join(WORK, 'complete')) ? await openRepository(join(WORK, 'repo'), PASS) : await build();
  process.stderr.write(`store ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const now = START + BACKUPS * DAY;
  const list: number[] = [];
  const collect: number[] = [];
  const render: number[] = [];
  let html = '';
  let json = '';
  let snapshots = 0;
  for (let i = 0; i < runs; i++) {
    // A fresh Repository each run: nothing cached from the previous one (index, decompressor).
    const r = await openRepository(join(WORK, 'repo'), PASS);
    let t = performance.now();
    snapshots = (await listSnapshots(r)).snapshots.length;
    list.push(performance.now() - t);
    const fresh = await openRepository(join(WORK, 'repo'), PASS);
    t = performance.now();
    const report = await collectReport(fresh, { now, periodMs: 90 * DAY });
    collect.push(performance.now() - t);
    t = performance.now();
    html = renderReportHtml(report);
    render.push(performance.now() - t);
    json = JSON.stringify(report);
  }
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write([
    `| store | listing the snapshots | collecting the report (listing, index, prune dry run) | rendering the HTML | HTML | JSON |`,
    `|---|---:|---:|---:|---:|---:|`,
    `| ${snapshots} snapshots of ${SOURCES} sources, ${SOURCES / 2} drills | ${s(median(list))} | ${s(median(collect))} | ${median(render).toFixed(0)} ms | ${(html.length / 1024).toFixed(0)} KiB | ${(json.length / 1024).toFixed(0)} KiB |`,
    `medians of ${runs} run(s), folder store, ${new Date().toISOString().slice(0, 10)}`,
    '',
  ].join('\n'));
  void repo;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
