import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { assertSameBytes, duBytes, run } from './exec';
import type { ToolRunner } from './tool-runner';

/** Figures of one init → backup 1 → backup 2 → restore sequence in a fresh store. */
export interface RunFigures {
  initS: number;
  firstS: number;
  secondS: number;
  restoreS: number;
  storeAfterFirstBytes: number;
  storeAfterSecondBytes: number;
  /** du -sb growth of the store over the second backup. */
  secondAddedBytes: number;
  rssKiB: { init: number; first: number; second: number; restore: number };
  /** What the tool itself reported for each backup (informational). */
  reportedFirst: Record<string, number>;
  reportedSecond: Record<string, number>;
}

export interface Sequence {
  runner: ToolRunner;
  image1: string;
  image2: string;
  /** The restored image must equal this byte for byte. */
  expectedRestore: string;
  /** Fixed path both images are linked to before their backup (see linkAt). */
  backupPath: string;
  store: string;
  scratch: string;
}

/**
 * Point `at` to `image` with a hard link: no copy, one fixed path for both backups (so
 * restic picks the first snapshot as parent, as for a real disk backed up nightly), and
 * a different inode and mtime for image 2, so no tool can skip it on metadata alone.
 */
async function linkAt(image: string, at: string): Promise<void> {
  await fsp.rm(at, { force: true });
  await fsp.link(image, at);
}

/**
 * Flush earlier writes (untimed) so one command's dirty pages are not written back on the
 * next command's time; restic fsyncs its packs itself, a tool that does not would otherwise
 * pass that cost on to whoever runs next.
 */
const settle = async (): Promise<void> => {
  await run(['sync']);
};

const s = (x: number): string => `${x.toFixed(2)} s`;
/** Milliseconds are plenty for commands that take seconds. */
const ms = (x: number): number => Math.round(x * 1000) / 1000;

export async function runSequence(q: Sequence, log: (line: string) => void): Promise<RunFigures> {
  await fsp.rm(q.store, { recursive: true, force: true });
  await fsp.rm(q.scratch, { recursive: true, force: true });
  await fsp.mkdir(path.dirname(q.store), { recursive: true });
  await fsp.mkdir(q.scratch, { recursive: true });
  try {
    const init = await q.runner.init(q.store);
    await settle();

    await linkAt(q.image1, q.backupPath);
    const first = await q.runner.backup(q.store, q.backupPath);
    const storeAfterFirstBytes = await duBytes(q.store);
    await settle();
    log(`    first backup ${s(first.seconds)}, store ${storeAfterFirstBytes} B`);

    await linkAt(q.image2, q.backupPath);
    const second = await q.runner.backup(q.store, q.backupPath);
    const storeAfterSecondBytes = await duBytes(q.store);
    await settle();
    log(`    second backup ${s(second.seconds)}, +${storeAfterSecondBytes - storeAfterFirstBytes} B`);

    const restore = await q.runner.restore(q.store, q.scratch, q.backupPath);
    const cmpStart = process.hrtime.bigint();
    await assertSameBytes(q.expectedRestore, restore.file, `${q.runner.name} restore of ${path.basename(q.expectedRestore)}`);
    const cmpS = Number(process.hrtime.bigint() - cmpStart) / 1e9;
    log(`    restore ${s(restore.seconds)}, identical to ${path.basename(q.expectedRestore)} (cmp ${s(cmpS)})`);

    return {
      initS: ms(init.seconds),
      firstS: ms(first.seconds),
      secondS: ms(second.seconds),
      restoreS: ms(restore.seconds),
      storeAfterFirstBytes,
      storeAfterSecondBytes,
      secondAddedBytes: storeAfterSecondBytes - storeAfterFirstBytes,
      rssKiB: { init: init.peakRssKiB, first: first.peakRssKiB, second: second.peakRssKiB, restore: restore.peakRssKiB },
      reportedFirst: first.reported,
      reportedSecond: second.reported,
    };
  } finally {
    await fsp.rm(q.store, { recursive: true, force: true });
    await fsp.rm(q.scratch, { recursive: true, force: true });
    await fsp.rm(q.backupPath, { force: true });
  }
}

export function median(xs: readonly number[]): number {
  const a = xs.slice().sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** Medians over runs, one metric at a time, as the tables report them. */
export interface Summary {
  firstS: number;
  secondS: number;
  secondAddedBytes: number;
  restoreS: number;
  /** Largest of the first backup's, second backup's and restore's peak RSS, in MiB. */
  peakRssMiB: number;
}

export interface CaseFigures extends Summary {
  initS: number;
  storeAfterFirstBytes: number;
  rssMiB: { first: number; second: number; restore: number };
  /** Virtual disk bytes / seconds, in MB/s (10^6). */
  firstMBps: number;
  secondMBps: number;
  restoreMBps: number;
  reportedSecond: Record<string, number>;
  runs: RunFigures[];
}

export function summarize(runs: readonly RunFigures[], virtualSize: number): CaseFigures {
  const med = (f: (r: RunFigures) => number): number => median(runs.map(f));
  const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;
  const firstS = med((r) => r.firstS);
  const restoreS = med((r) => r.restoreS);
  const reportedKeys = new Set(runs.flatMap((r) => Object.keys(r.reportedSecond)));
  const reportedSecond: Record<string, number> = {};
  for (const k of reportedKeys) reportedSecond[k] = med((r) => r.reportedSecond[k] ?? NaN);
  return {
    firstS,
    secondS: med((r) => r.secondS),
    secondAddedBytes: med((r) => r.secondAddedBytes),
    restoreS,
    peakRssMiB: mib(med((r) => Math.max(r.rssKiB.first, r.rssKiB.second, r.rssKiB.restore))),
    initS: med((r) => r.initS),
    storeAfterFirstBytes: med((r) => r.storeAfterFirstBytes),
    rssMiB: { first: mib(med((r) => r.rssKiB.first)), second: mib(med((r) => r.rssKiB.second)), restore: mib(med((r) => r.rssKiB.restore)) },
    firstMBps: Math.round((virtualSize / 1e6 / firstS) * 10) / 10,
    secondMBps: Math.round((virtualSize / 1e6 / med((r) => r.secondS)) * 10) / 10,
    restoreMBps: Math.round((virtualSize / 1e6 / restoreS) * 10) / 10,
    reportedSecond,
    runs: runs.slice(),
  };
}
