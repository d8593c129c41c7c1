import { checkCase, checkFlatness, checkKdfShare, targetsMarkdown } from '../../bench/targets';
import type { FlatnessRow } from '../../bench/flatness';
import type { CaseFigures } from '../../bench/measure';

const MiB = 2 ** 20;

/** Figures with only what the targets read; the rest is zero. */
function figures(f: Partial<CaseFigures>): CaseFigures {
  return {
    firstS: 0, secondS: 0, secondAddedBytes: 0, restoreS: 0, peakRssMiB: 0, initS: 0, storeAfterFirstBytes: 0,
    rssMiB: { first: 0, second: 0, restore: 0 }, firstMBps: 0, secondMBps: 0, restoreMBps: 0, reportedSecond: {}, runs: [],
    ...f,
  };
}

describe('bench targets (issues #8 and #18)', () => {
  const changed = 12.5 * MiB;
  const restic = figures({ firstS: 15, secondS: 6, restoreS: 6.6, rssMiB: { first: 93.7, second: 94, restore: 75 } });

  it('meets every target at the bounds, fails each one just past it', () => {
    const atBounds = figures({ firstS: 15 * 0.67, secondS: 6 * 0.33, secondAddedBytes: 2 * changed, restoreS: 6.6, firstMBps: 500, restoreMBps: 500, peakRssMiB: 256, rssMiB: { first: 94, second: 80, restore: 256 } });
    expect(checkCase(atBounds, restic, changed).map((t) => t.met)).toEqual([true, true, true, true, true, true, true]);
    const past = figures({ firstS: 10.1, secondS: 1.99, secondAddedBytes: 2 * changed + 1, restoreS: 6.61, firstMBps: 500, restoreMBps: 499, peakRssMiB: 256.1, rssMiB: { first: 90, second: 94.1, restore: 0 } });
    expect(checkCase(past, restic, changed).map((t) => t.met)).toEqual([false, false, false, false, false, false, false]);
    expect(checkCase(past, restic, changed)[6].measured).toBe('94.1 vs 94.0 MiB (1.00×)');
  });

  it('says nothing about a case one tool did not run', () => {
    expect(checkCase(figures({}), null, changed)).toEqual([]);
    expect(targetsMarkdown([{ id: 'raw', ours: figures({}), restic: null }], [], changed)).toBe('');
  });

  it('flatness compares the largest disk with the smallest, backup and restore peaks alike', () => {
    const row = (format: 'raw' | 'qcow2', virtualSize: number, backup: number, restore: number): FlatnessRow => ({ format, virtualSize, backupS: 1, backupPeakRssMiB: backup, restoreS: 1, restorePeakRssMiB: restore });
    const checks = checkFlatness([row('raw', 4 * 2 ** 30, 227, 204), row('raw', 64 * 2 ** 30, 224, 207), row('qcow2', 4 * 2 ** 30, 200, 180), row('qcow2', 64 * 2 ** 30, 200, 221)]);
    expect(checks.map((c) => [c.measured, c.met])).toEqual([['224.0 vs 227.0 MiB', true], ['221.0 vs 200.0 MiB', false]]);
  });

  it('compares the backup with a 16 MiB key against restic, and only when both ran', () => {
    expect(checkKdfShare(figures({ rssMiB: { first: 94, second: 90, restore: 300 } }), restic)).toEqual([
      { target: 'backup peak memory ≤ restic\'s, our key\'s KDF at restic\'s 16 MiB (#18)', measured: '94.0 vs 94.0 MiB (1.00×)', met: true },
    ]);
    expect(checkKdfShare(figures({ rssMiB: { first: 80, second: 94.1, restore: 0 } }), restic)[0].met).toBe(false);
    expect(checkKdfShare(null, restic)).toEqual([]);
    const md = targetsMarkdown([], [], changed, { id: 'raw-kdf16', ours: figures({ rssMiB: { first: 120, second: 99, restore: 140 } }), restic });
    expect(md).toContain('| raw-kdf16 | backup peak memory ≤ restic\'s, our key\'s KDF at restic\'s 16 MiB (#18) | 120.0 vs 94.0 MiB (1.28×) | **no** |');
  });

  it('renders one row per target and marks the failures', () => {
    const md = targetsMarkdown([{ id: 'qcow2', ours: figures({ firstS: 7, secondS: 2.1, secondAddedBytes: changed, restoreS: 4, firstMBps: 600, restoreMBps: 1000, peakRssMiB: 230 }), restic }], [], changed);
    expect(md).toContain('| qcow2 | second backup time ≤ 0.33 of restic\'s | 0.35× (2.10 / 6.00 s) | **no** |');
    expect(md.split('\n').filter((l) => l.startsWith('| qcow2 |'))).toHaveLength(7);
  });
});
