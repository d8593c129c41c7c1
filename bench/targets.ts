import type { FlatnessRow } from './flatness';
import type { CaseFigures } from './measure';

/**
 * The speed targets of the engine (issue #8), and the backup memory bound of issue #18 (item D: at
 * restic's or below), checked against one bench run: ratios of our median to restic's median in the
 * same run, for the raw and the QCOW2 image with our default chunker.
 */
export interface TargetCheck {
  target: string;
  /** What was measured, as written in the table. */
  measured: string;
  met: boolean;
}

const FIRST_RATIO = 0.67;
const SECOND_RATIO = 0.33;
const ADDED_PER_CHANGED = 2;
const RESTORE_RATIO = 1.0;
const PEAK_RSS_MIB = 256;
/** "The same" peak memory for a 16× larger virtual disk: within this fraction of the small one. */
const FLAT_TOLERANCE = 0.1;

/** Checks for one case; empty when either tool's figures are missing. */
export function checkCase(ours: CaseFigures | null, restic: CaseFigures | null, changedBytes: number): TargetCheck[] {
  if (!ours || !restic) return [];
  const r = (a: number, b: number): number => a / b;
  const x = (n: number): string => `${n.toFixed(2)}×`;
  const first = r(ours.firstS, restic.firstS);
  const second = r(ours.secondS, restic.secondS);
  const added = ours.secondAddedBytes / changedBytes;
  const restore = r(ours.restoreS, restic.restoreS);
  // Issue #18 item D: an ordinary backup's memory at restic's or below (first and second backups).
  const ourBackup = Math.max(ours.rssMiB.first, ours.rssMiB.second);
  const theirBackup = Math.max(restic.rssMiB.first, restic.rssMiB.second);
  return [
    { target: `first backup time ≤ ${FIRST_RATIO} of restic's`, measured: `${x(first)} (${ours.firstS.toFixed(2)} / ${restic.firstS.toFixed(2)} s)`, met: first <= FIRST_RATIO },
    { target: `second backup time ≤ ${SECOND_RATIO} of restic's`, measured: `${x(second)} (${ours.secondS.toFixed(2)} / ${restic.secondS.toFixed(2)} s)`, met: second <= SECOND_RATIO },
    { target: `bytes added by the second backup ≤ ${ADDED_PER_CHANGED}× the bytes changed`, measured: x(added), met: added <= ADDED_PER_CHANGED },
    { target: `restore time ≤ ${RESTORE_RATIO.toFixed(1)} of restic's`, measured: `${x(restore)} (${ours.restoreS.toFixed(2)} / ${restic.restoreS.toFixed(2)} s)`, met: restore <= RESTORE_RATIO },
    { target: 'restore MB/s ≥ our first backup MB/s', measured: `${ours.restoreMBps.toFixed(0)} vs ${ours.firstMBps.toFixed(0)} MB/s`, met: ours.restoreMBps >= ours.firstMBps },
    { target: `peak memory ≤ ${PEAK_RSS_MIB} MiB`, measured: `${ours.peakRssMiB.toFixed(1)} MiB`, met: ours.peakRssMiB <= PEAK_RSS_MIB },
    { target: 'backup peak memory ≤ restic\'s (#18)', measured: `${ourBackup.toFixed(1)} vs ${theirBackup.toFixed(1)} MiB (${x(ourBackup / theirBackup)})`, met: ourBackup <= theirBackup },
  ];
}

/** Peak memory flat in the virtual size: for each format, the largest disk's peaks against the smallest's. */
export function checkFlatness(rows: readonly FlatnessRow[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const format of [...new Set(rows.map((r) => r.format))]) {
    const mine = rows.filter((r) => r.format === format).sort((a, b) => a.virtualSize - b.virtualSize);
    if (mine.length < 2) continue;
    const small = mine[0];
    const large = mine[mine.length - 1];
    const peak = (r: FlatnessRow): number => Math.max(r.backupPeakRssMiB, r.restorePeakRssMiB);
    const gib = (n: number): string => `${(n / 2 ** 30).toFixed(0)} GiB`;
    out.push({
      target: `${format}: peak memory for a ${gib(large.virtualSize)} disk within ${FLAT_TOLERANCE * 100}% of a ${gib(small.virtualSize)} one, and ≤ ${PEAK_RSS_MIB} MiB`,
      measured: `${peak(large).toFixed(1)} vs ${peak(small).toFixed(1)} MiB`,
      met: peak(large) <= peak(small) * (1 + FLAT_TOLERANCE) && peak(large) <= PEAK_RSS_MIB,
    });
  }
  return out;
}

/**
 * Issue #18 item D again, with our key's KDF at restic's memory (the raw-kdf16 case against restic's
 * raw figures): what the backup needs besides the KDF, which issue #14 sets at 64 MiB.
 */
export function checkKdfShare(ours: CaseFigures | null, restic: CaseFigures | null): TargetCheck[] {
  if (!ours || !restic) return [];
  const our = Math.max(ours.rssMiB.first, ours.rssMiB.second);
  const their = Math.max(restic.rssMiB.first, restic.rssMiB.second);
  return [{ target: 'backup peak memory ≤ restic\'s, our key\'s KDF at restic\'s 16 MiB (#18)', measured: `${our.toFixed(1)} vs ${their.toFixed(1)} MiB (${(our / their).toFixed(2)}×)`, met: our <= their }];
}

export function targetsMarkdown(
  cases: ReadonlyArray<{ id: string; ours: CaseFigures | null; restic: CaseFigures | null }>,
  flatness: readonly FlatnessRow[],
  changedBytes: number,
  kdfShare?: { id: string; ours: CaseFigures | null; restic: CaseFigures | null },
): string {
  const rows = cases.flatMap((c) => checkCase(c.ours, c.restic, changedBytes).map((t) => ({ ...t, scope: c.id })));
  if (kdfShare) rows.push(...checkKdfShare(kdfShare.ours, kdfShare.restic).map((t) => ({ ...t, scope: kdfShare.id })));
  rows.push(...checkFlatness(flatness).map((t) => ({ ...t, scope: 'memory' })));
  if (rows.length === 0) return '';
  return [
    '### Targets (issues #8 and #18)',
    '',
    'Ratios are ours / restic, medians of this run. A target not met is a failure of this run, not of the bench.',
    '',
    '| case | target | measured | met |',
    '|---|---|---|---|',
    ...rows.map((t) => `| ${t.scope} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`),
    '',
  ].join('\n');
}
