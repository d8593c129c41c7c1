/**
 * Memory against disk size (ours only): the first backup and the restore of the same data in the
 * dataset's disk and in a disk 16 times larger (4 GiB → 64 GiB at full size), raw and QCOW2.
 * Peak RSS must not grow with the virtual size: the index grows with the data, the disk map with the
 * extents, and everything else is bounded queues.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from './dataset';
import { BenchError, run } from './exec';
import { median } from './measure';
import type { OursRunner } from './ours';
import type { ImageFormat } from './tool-runner';
import type { ToolPaths } from './tools';

export const GROWTH = 16;

export interface FlatnessRow {
  format: ImageFormat;
  virtualSize: number;
  /** Medians over the runs. */
  backupS: number;
  backupPeakRssMiB: number;
  restoreS: number;
  restorePeakRssMiB: number;
}

/** Image 1 grown to GROWTH × its size (sparse tail), raw and QCOW2; built once, cached next to the dataset. */
async function ensureGrown(ds: Dataset, tools: ToolPaths, log: (line: string) => void): Promise<Record<ImageFormat, string>> {
  const size = ds.spec.virtualSize * GROWTH;
  const raw = path.join(ds.dir, `disk1-x${GROWTH}.raw`);
  const qcow = path.join(ds.dir, `disk1-x${GROWTH}.qcow2`);
  const done = path.join(ds.dir, `disk1-x${GROWTH}.done`);
  if (!existsSync(done)) {
    log(`flatness: building ${raw} and ${qcow} (${size} B virtual)`);
    for (const f of [raw, qcow, done]) await fsp.rm(f, { force: true });
    await run(['cp', '--sparse=always', ds.raw1, raw]);
    await run(['truncate', '-s', String(size), raw]);
    await run([tools.qemuImg, 'convert', '-O', 'qcow2', raw, qcow]);
    await fsp.writeFile(done, `${new Date().toISOString()}\n`);
  }
  return { raw, qcow2: qcow };
}

export async function measureFlatness(
  ours: OursRunner, ds: Dataset, tools: ToolPaths, work: string, runs: number, log: (line: string) => void,
): Promise<FlatnessRow[]> {
  const grown = await ensureGrown(ds, tools, log);
  const rows: FlatnessRow[] = [];
  for (const format of ['raw', 'qcow2'] as const) {
    for (const [image, virtualSize] of [[format === 'raw' ? ds.raw1 : ds.qcow1, ds.spec.virtualSize], [grown[format], ds.spec.virtualSize * GROWTH]] as const) {
      const backup: number[][] = [];
      const restore: number[][] = [];
      for (let i = 1; i <= runs; i++) {
        const store = path.join(work, 'stores', `flatness-${format}-${virtualSize}`);
        const scratch = path.join(work, 'restore', 'flatness');
        for (const d of [store, scratch]) await fsp.rm(d, { recursive: true, force: true });
        await fsp.mkdir(scratch, { recursive: true });
        await fsp.mkdir(path.dirname(store), { recursive: true });
        try {
          await ours.init(store);
          await run(['sync']);
          const b = await ours.backup(store, image);
          await run(['sync']);
          const r = await ours.restore(store, scratch);
          const st = await fsp.stat(r.file);
          if (st.size !== virtualSize) throw new BenchError(`flatness: the restore of ${image} is ${st.size} B, not ${virtualSize} B`);
          backup.push([b.seconds, b.peakRssKiB]);
          restore.push([r.seconds, r.peakRssKiB]);
          log(`  flatness ${format} ${virtualSize} B run ${i}: backup ${b.seconds.toFixed(2)} s ${Math.round(b.peakRssKiB / 1024)} MiB, restore ${r.seconds.toFixed(2)} s ${Math.round(r.peakRssKiB / 1024)} MiB`);
        } finally {
          for (const d of [store, scratch]) await fsp.rm(d, { recursive: true, force: true });
        }
      }
      const med = (xs: number[][], k: number) => median(xs.map((x) => x[k]));
      rows.push({
        format,
        virtualSize,
        backupS: med(backup, 0),
        backupPeakRssMiB: Math.round((med(backup, 1) / 1024) * 10) / 10,
        restoreS: med(restore, 0),
        restorePeakRssMiB: Math.round((med(restore, 1) / 1024) * 10) / 10,
      });
    }
  }
  return rows;
}

export function flatnessMarkdown(rows: readonly FlatnessRow[]): string {
  if (rows.length === 0) return '';
  const gib = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(0)} GiB` : `${(n / 2 ** 20).toFixed(0)} MiB`);
  return [
    '### Memory against disk size (ours)',
    '',
    `Image 1 as it is, and image 1 with its disk grown ${GROWTH}× (\`truncate\` of a sparse copy: the same data, a larger hole; the QCOW2 is \`qemu-img convert\` of that), each backed up into a fresh store and restored (raw). Medians of the runs.`,
    '',
    '| format | virtual size | first backup (s) | peak RSS backup (MiB) | restore (s) | peak RSS restore (MiB) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.format} | ${gib(r.virtualSize)} | ${r.backupS.toFixed(2)} | ${r.backupPeakRssMiB} | ${r.restoreS.toFixed(2)} | ${r.restorePeakRssMiB} |`),
    '',
  ].join('\n');
}
