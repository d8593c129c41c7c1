/**
 * File-level restore (ours only, issue #19): `ls` of a directory of 10,000 files and `dump` of one
 * large file (1 GiB at full size) from a snapshot of the bench disk, on a folder store and on the
 * local S3 server, against what a user does without them: restore the whole image, then read the
 * file out of it with `debugfs -R "dump …"` (and list the directory with `debugfs -R "ls -l …"`).
 * The disk is image 1 with those files added by debugfs (built once, cached next to the dataset).
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from './dataset';
import { BenchError, assertSameBytes, run, runMeasured } from './exec';
import { median } from './measure';
import { OURS_PASSWORD } from './ours';
import { startBenchS3, type BenchS3 } from './s3';

export const MANY_FILES = 10_000;
const DIR = '/bench-files';

export interface FileLevelRow {
  store: 'folder' | 's3';
  /** Medians over the runs. */
  lsS: number;
  lsPeakRssMiB: number;
  dumpS: number;
  dumpPeakRssMiB: number;
  restoreS: number;
  debugfsDumpS: number;
  debugfsLsS: number;
}

interface FilesImage {
  image: string;
  big: string;
  bigBytes: number;
}

/** Image 1 plus /bench-files/many/f00000… (10,000 small files) and /bench-files/big.bin, written with debugfs. */
async function ensureImage(ds: Dataset, log: (line: string) => void): Promise<FilesImage> {
  const bigBytes = bigFileBytes(ds);
  const image = path.join(ds.dir, 'disk1-files.raw');
  const big = path.join(ds.dir, 'files-big.bin');
  const done = path.join(ds.dir, 'disk1-files.done');
  if (!existsSync(done)) {
    log(`files: building ${image} (image 1 + ${MANY_FILES} small files + a ${bigBytes} B file)`);
    for (const f of [image, big, done]) await fsp.rm(f, { force: true });
    await run(['cp', '--sparse=always', ds.raw1, image]);
    await run(['sh', '-c', `head -c ${bigBytes} /dev/urandom > '${big}'`]);
    const small = path.join(ds.dir, 'files-small.txt');
    await fsp.writeFile(small, 'a small file of the bench\n');
    const script = [`mkdir ${DIR}`, `mkdir ${DIR}/many`, `write ${big} ${DIR}/big.bin`];
    for (let i = 0; i < MANY_FILES; i++) script.push(`write ${small} ${DIR}/many/f${String(i).padStart(5, '0')}`);
    const scriptFile = path.join(ds.dir, 'files-debugfs.txt');
    await fsp.writeFile(scriptFile, `${script.join('\n')}\n`);
    await run(['debugfs', '-w', '-f', scriptFile, image]);
    await fsp.rm(scriptFile, { force: true });
    await fsp.writeFile(done, `${new Date().toISOString()}\n`);
  }
  return { image, big, bigBytes };
}

export async function measureFileLevel(cli: readonly string[], ds: Dataset, work: string, runs: number, log: (line: string) => void): Promise<FileLevelRow[]> {
  const img = await ensureImage(ds, log);
  let s3: BenchS3 | undefined;
  const rows: FileLevelRow[] = [];
  try {
    s3 = await startBenchS3();
    for (const store of ['folder', 's3'] as const) {
      const env = { ...process.env, ...(store === 's3' ? s3.env : {}), SCW_BACKUP_PASSWORD: OURS_PASSWORD };
      const figures: number[][] = [];
      for (let i = 1; i <= runs; i++) {
        const repo = store === 's3' ? `s3://bench/files-run${i}` : path.join(work, 'stores', `files-run${i}`);
        const scratch = path.join(work, 'restore', 'files');
        for (const d of [scratch, ...(store === 'folder' ? [repo] : [])]) await fsp.rm(d, { recursive: true, force: true });
        await fsp.mkdir(scratch, { recursive: true });
        await fsp.mkdir(path.join(work, 'stores'), { recursive: true });
        try {
          await run([...cli, 'init', '--repo', repo], { env });
          await run([...cli, 'backup', '--repo', repo, img.image], { env });
          await run(['sync']);
          const ls = await runMeasured([...cli, 'ls', '--repo', repo, `latest:${DIR}/many`], { env });
          const lines = ls.stdout.trim().split('\n').length;
          if (lines !== MANY_FILES) throw new BenchError(`files: ls printed ${lines} lines, not ${MANY_FILES}`);
          const dumped = path.join(scratch, 'big.bin');
          const dump = await runMeasured([...cli, 'dump', '--repo', repo, `latest:${DIR}/big.bin`, '--target', dumped], { env });
          await assertSameBytes(img.big, dumped, 'dump of big.bin');
          await fsp.rm(dumped, { force: true });
          await run(['sync']);
          const restored = path.join(scratch, 'restored.raw');
          const restore = await runMeasured([...cli, 'restore', '--repo', repo, 'latest', '--target', restored], { env });
          const viaDebugfs = path.join(scratch, 'big-debugfs.bin');
          const dfDump = await run(['debugfs', '-R', `dump ${DIR}/big.bin ${viaDebugfs}`, restored]);
          await assertSameBytes(img.big, viaDebugfs, 'debugfs dump of big.bin');
          const dfLs = await run(['debugfs', '-R', `ls -l ${DIR}/many`, restored]);
          figures.push([ls.seconds, ls.peakRssKiB, dump.seconds, dump.peakRssKiB, restore.seconds, dfDump.seconds, dfLs.seconds]);
          log(`  files ${store} run ${i}: ls ${ls.seconds.toFixed(2)} s, dump ${dump.seconds.toFixed(2)} s; restore ${restore.seconds.toFixed(2)} s + debugfs dump ${dfDump.seconds.toFixed(2)} s`);
        } finally {
          for (const d of [scratch, ...(store === 'folder' ? [repo] : [])]) await fsp.rm(d, { recursive: true, force: true });
        }
      }
      const med = (k: number) => median(figures.map((f) => f[k]));
      const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
      rows.push({ store, lsS: med(0), lsPeakRssMiB: mib(med(1)), dumpS: med(2), dumpPeakRssMiB: mib(med(3)), restoreS: med(4), debugfsDumpS: med(5), debugfsLsS: med(6) });
    }
  } finally {
    await s3?.stop();
  }
  return rows;
}

export function fileLevelMarkdown(rows: readonly FileLevelRow[], bigBytes: number): string {
  if (rows.length === 0) return '';
  const size = bigBytes >= 2 ** 30 ? `${bigBytes / 2 ** 30} GiB` : `${bigBytes / 2 ** 20} MiB`;
  return [
    '### File-level restore: `ls` and `dump` against a whole restore (ours)',
    '',
    `Image 1 with \`${DIR}/many\` (${MANY_FILES.toLocaleString('en')} small files) and \`${DIR}/big.bin\` (${size} of random bytes) added by debugfs, backed up into a fresh store; then \`ls latest:${DIR}/many\` and \`dump latest:${DIR}/big.bin --target FILE\` (compared with the source file), against \`restore\` of the whole image followed by \`debugfs -R "dump ${DIR}/big.bin FILE"\` (and \`debugfs -R "ls -l ${DIR}/many"\`) on the restored image. s3: the local S3 server of the s3 case. Medians of the runs; commands' wall time, start-up and KDF included.`,
    '',
    `| store | ls ${MANY_FILES.toLocaleString('en')} files (s) | peak RSS (MiB) | dump ${size} (s) | peak RSS (MiB) | restore image (s) | + debugfs dump (s) | debugfs ls (s) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.store} | ${r.lsS.toFixed(2)} | ${r.lsPeakRssMiB} | ${r.dumpS.toFixed(2)} | ${r.dumpPeakRssMiB} | ${r.restoreS.toFixed(2)} | ${r.debugfsDumpS.toFixed(2)} | ${r.debugfsLsS.toFixed(2)} |`),
    '',
  ].join('\n');
}

/** The size of the large file for a dataset (what ensureImage writes). */
export function bigFileBytes(ds: Dataset): number {
  return ds.spec.virtualSize >= 2 ** 32 ? 2 ** 30 : 64 * 2 ** 20;
}
