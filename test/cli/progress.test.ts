/**
 * What the progress bar shows (#16): it fits the terminal, counts the bytes a backup will read
 * (allocated data, not the virtual size), and a phase with nothing to count shows its state and
 * elapsed time rather than 0% and ETA 0:00.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { renderBar } from '../../cli/output';
import { prng, tempDir } from '../helpers';
import { WEAK_KDF, jsonLines, runCli } from './spawn-cli';

const MiB = 1024 * 1024;
const base = { phase: 'backup', bytesNew: 0, bytesStored: 0 };

it('fits the width it is given, bar included while there is room', () => {
  const p = { ...base, bytesDone: 300 * MiB, bytesTotal: 1200 * MiB, elapsedMs: 3000 };
  for (const columns of [40, 60, 80, 120, 200]) {
    const line = renderBar(p, columns);
    expect(line.length).toBeLessThan(columns);
    expect(line).toMatch(/25%/);
  }
  expect(renderBar(p, 120)).toMatch(/^backup \[=+ +\] +25% 300 MiB\/1.17 GiB 100 MiB\/s ETA 0:09$/);
  expect(renderBar(p, 40)).not.toContain('[');
});

it('a phase with nothing to count shows its state and elapsed time', () => {
  const line = renderBar({ ...base, phase: 'exporting', bytesDone: 0, bytesTotal: undefined, elapsedMs: 83_000 }, 80);
  expect(line).toBe('exporting: 1:23 elapsed');
  expect(line).not.toMatch(/%|ETA/);
});

it('a backup of a sparse disk counts the data it reads, not its virtual size', async () => {
  const dir = await tempDir('scwb-progress-');
  try {
    const repo = join(dir.path, 'store');
    const env = { SCW_BACKUP_PASSWORD: 'pw-progress-passphrase' };
    expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
    // 1 GiB of virtual disk, 8 MiB of data in two extents.
    const image = join(dir.path, 'sparse.img');
    const fd = openSync(image, 'w');
    writeSync(fd, prng(1)(4 * MiB), 0, 4 * MiB, 0);
    writeSync(fd, prng(2)(4 * MiB), 0, 4 * MiB, 512 * MiB);
    writeSync(fd, Buffer.alloc(1), 0, 1, 1024 * MiB - 1);
    closeSync(fd);
    const r = await runCli(['backup', '--repo', repo, '--json', image], env);
    expect(r.code).toBe(0);
    const progress = jsonLines(r.stdout).filter((l) => l.type === 'progress' && l.phase === 'backup');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      expect(p.bytesTotal).toBeLessThan(16 * MiB);
      expect(p.bytesDone as number).toBeLessThanOrEqual(p.bytesTotal as number);
    }
  } finally {
    await dir.cleanup();
  }
});
