import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  Qcow2Image, backupImage, checkRepository, findSnapshot, initRepository, openDiskImage, restoreImage, restoreQcow2,
  type Repository,
} from '../../engine';
import { PASS, TEST_INIT, copyRealFiles, prng, tempDir } from '../helpers';

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });

let dir: { path: string; cleanup: () => Promise<void> };
let raw: string;
let repo: Repository;

/** A 96 MiB ext4 file system holding real files, as a raw disk. */
beforeAll(async () => {
  dir = await tempDir();
  const files = join(dir.path, 'files');
  mkdirSync(files);
  copyRealFiles(files, 40 << 20);
  writeFileSync(join(files, 'random.bin'), prng(9)(4 << 20));
  raw = join(dir.path, 'disk.raw');
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-F', '-d', files, raw, '96M']);
  repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
});
afterAll(() => dir.cleanup());

async function backup(path: string) {
  const source = await openDiskImage(path);
  try {
    const snap = await backupImage(repo, source);
    return { snap, source };
  } finally {
    await source.close();
  }
}

it('stores the guest disk of a QCOW2, not its container: raw and QCOW2 of one disk deduplicate', async () => {
  const first = await backup(raw);
  expect(first.snap.source.format).toBe('raw');
  for (const opts of [[], ['-c'], ['-o', 'cluster_size=4096'], ['-o', 'extended_l2=on,cluster_size=128k'], ['-o', 'compat=0.10']]) {
    const q = join(dir.path, `disk-${opts.join('')}.qcow2`);
    qemuImg('convert', '-O', 'qcow2', ...opts, raw, q);
    const { snap, source } = await backup(q);
    expect(snap.source.format).toBe('qcow2');
    expect(snap.size).toBe(first.snap.size);
    expect(snap.stats.bytesNew).toBe(0);
    // Only allocated clusters (and metadata) were read from the file.
    expect((source as Qcow2Image).stats.bytesRead).toBeLessThanOrEqual(readFileSync(q).length);
  }
});

it('restores a QCOW2 that qemu-img checks clean and finds identical, and a raw equal to qemu-img convert', async () => {
  const q = join(dir.path, 'orig.qcow2');
  qemuImg('convert', '-O', 'qcow2', raw, q);
  const { snap } = await backup(q);
  const outQ = join(dir.path, 'restored.qcow2');
  await restoreQcow2(repo, await findSnapshot(repo, snap.id), outQ);
  const check = spawnSync('qemu-img', ['check', outQ], { encoding: 'utf8' });
  expect(check.status).toBe(0);
  expect(check.stdout).toMatch(/No errors were found/);
  expect(check.stdout).not.toMatch(/leaked/);
  expect(qemuImg('compare', q, outQ)).toMatch(/Images are identical/);

  const outRaw = join(dir.path, 'restored.raw');
  await restoreImage(repo, snap, outRaw);
  const expected = join(dir.path, 'expected.raw');
  qemuImg('convert', '-O', 'raw', q, expected);
  expect(readFileSync(outRaw).equals(readFileSync(expected))).toBe(true);
});

it('a second export of the same volume after scattered writes adds little', async () => {
  const q1 = join(dir.path, 'export1.qcow2');
  qemuImg('convert', '-O', 'qcow2', raw, q1);
  const before = await backup(q1);
  const changed = join(dir.path, 'changed.raw');
  execFileSync('cp', ['--sparse=always', raw, changed]);
  const fd = openSync(changed, 'r+');
  const rnd = prng(17);
  for (let i = 0; i < 20; i++) writeSync(fd, rnd(65536), 0, 65536, (1 + i * 71) * 65536);
  closeSync(fd);
  const q2 = join(dir.path, 'export2.qcow2');
  qemuImg('convert', '-O', 'qcow2', changed, q2);
  const after = await backup(q2);
  expect(after.snap.stats.bytesNew).toBeLessThanOrEqual(20 * 65536);
  expect(after.snap.stats.bytesNew).toBeGreaterThan(0);
  void before;
  expect((await checkRepository(repo, { readData: true })).errors).toEqual([]);
});
