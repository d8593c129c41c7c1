import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { assertSameBytes, duBytes, run } from './exec';
import type { ToolRunner } from './tool-runner';

/** S3 requests one command made, as the counting proxy saw them. */
export interface RequestCounts {
  total: number;
  /** By HTTP method; a GET that lists (ListObjectsV2) counts as LIST. */
  byMethod: Record<string, number>;
  /** Most requests in flight at once during the command. */
  maxInFlight: number;
}

/**
 * Where a run's store lives and how it is measured: a local folder (du -sb) by default, or a
 * prefix of a bucket on the local S3 server (sum of listed object sizes, requests counted).
 */
export interface StoreSite {
  /** Bytes the store holds now. */
  bytes(store: string): Promise<number>;
  /** Make sure the store does not exist (before a run), and remove it (after). */
  remove(store: string): Promise<void>;
  /** Start counting requests for the next command (S3 only). */
  startCounting?(): void;
  /** Requests since startCounting(). */
  counted?(): RequestCounts;
}

export const folderSite: StoreSite = {
  bytes: duBytes,
  async remove(store) {
    await fsp.rm(store, { recursive: true, force: true });
  },
};

/** Figures of one init → backup 1 → backup 2 → restore sequence in a fresh store. */
export interface RunFigures {
  initS: number;
  firstS: number;
  secondS: number;
  restoreS: number;
  storeAfterFirstBytes: number;
  storeAfterSecondBytes: number;
  /** Growth of the store over the second backup (du -sb, or the sum of the S3 object sizes). */
  secondAddedBytes: number;
  rssKiB: { init: number; first: number; second: number; restore: number };
  /** S3 stores only: requests each command made. */
  requests?: { init: RequestCounts; first: RequestCounts; second: RequestCounts; restore: RequestCounts };
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
  /** How the store is measured and removed (default: a local folder). */
  site?: StoreSite;
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

/**
 * Read the input image once more (untimed) right before it is backed up: the bench warms every
 * image at the start, but restores and their comparisons write and read GiBs, and the kernel was
 * seen to evict part of an image before its last use (fincore: 1.4 of 1.5 GiB left), which then
 * cost whoever read it a few tenths of a second of disk reads.
 */
const warm = async (image: string): Promise<void> => {
  await run(['cat', image], { discardStdout: true });
};

const s = (x: number): string => `${x.toFixed(2)} s`;
/** Milliseconds are plenty for commands that take seconds. */
const ms = (x: number): number => Math.round(x * 1000) / 1000;

export async function runSequence(q: Sequence, log: (line: string) => void): Promise<RunFigures> {
  const site = q.site ?? folderSite;
  await site.remove(q.store);
  if (!q.site) await fsp.mkdir(path.dirname(q.store), { recursive: true });
  await fsp.rm(q.scratch, { recursive: true, force: true });
  await fsp.mkdir(q.scratch, { recursive: true });
  // Requests of one command: counting starts right before it and is read right after it.
  const counted = async <T>(cmd: () => Promise<T>): Promise<[T, RequestCounts | undefined]> => {
    site.startCounting?.();
    const r = await cmd();
    return [r, site.counted?.()];
  };
  const req = (c: RequestCounts | undefined): string => (c ? `, ${c.total} requests (${formatByMethod(c.byMethod)})` : '');
  try {
    const [init, initReq] = await counted(() => q.runner.init(q.store));
    await settle();

    await linkAt(q.image1, q.backupPath);
    await warm(q.image1);
    const [first, firstReq] = await counted(() => q.runner.backup(q.store, q.backupPath));
    const storeAfterFirstBytes = await site.bytes(q.store);
    await settle();
    log(`    first backup ${s(first.seconds)}, store ${storeAfterFirstBytes} B${req(firstReq)}`);

    await linkAt(q.image2, q.backupPath);
    await warm(q.image2);
    const [second, secondReq] = await counted(() => q.runner.backup(q.store, q.backupPath));
    const storeAfterSecondBytes = await site.bytes(q.store);
    await settle();
    log(`    second backup ${s(second.seconds)}, +${storeAfterSecondBytes - storeAfterFirstBytes} B${req(secondReq)}`);

    const [restore, restoreReq] = await counted(() => q.runner.restore(q.store, q.scratch, q.backupPath));
    const cmpStart = process.hrtime.bigint();
    await assertSameBytes(q.expectedRestore, restore.file, `${q.runner.name} restore of ${path.basename(q.expectedRestore)}`);
    const cmpS = Number(process.hrtime.bigint() - cmpStart) / 1e9;
    log(`    restore ${s(restore.seconds)}${req(restoreReq)}, identical to ${path.basename(q.expectedRestore)} (cmp ${s(cmpS)})`);

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
      ...(initReq && firstReq && secondReq && restoreReq ? { requests: { init: initReq, first: firstReq, second: secondReq, restore: restoreReq } } : {}),
    };
  } finally {
    await site.remove(q.store);
    await fsp.rm(q.scratch, { recursive: true, force: true });
    await fsp.rm(q.backupPath, { force: true });
  }
}

/** `PUT 12, GET 3, HEAD 12`: most frequent first. */
export function formatByMethod(byMethod: Record<string, number>): string {
  const e = Object.entries(byMethod).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return e.length ? e.map(([m, n]) => `${m} ${n}`).join(', ') : 'none';
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
  /** S3 stores only: median requests per command (each field its own median over runs). */
  requests?: { init: RequestCounts; first: RequestCounts; second: RequestCounts; restore: RequestCounts };
  runs: RunFigures[];
}

function medianCounts(xs: readonly RequestCounts[]): RequestCounts {
  const methods = new Set(xs.flatMap((x) => Object.keys(x.byMethod)));
  const byMethod: Record<string, number> = {};
  for (const m of [...methods].sort()) byMethod[m] = median(xs.map((x) => x.byMethod[m] ?? 0));
  return { total: median(xs.map((x) => x.total)), byMethod, maxInFlight: median(xs.map((x) => x.maxInFlight)) };
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
    ...(runs.every((r) => r.requests)
      ? {
          requests: {
            init: medianCounts(runs.map((r) => r.requests!.init)),
            first: medianCounts(runs.map((r) => r.requests!.first)),
            second: medianCounts(runs.map((r) => r.requests!.second)),
            restore: medianCounts(runs.map((r) => r.requests!.restore)),
          },
        }
      : {}),
    runs: runs.slice(),
  };
}
