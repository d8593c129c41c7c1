import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BackupError, RawFileSource, backupImage, checkRepository, initRepository, listSnapshots, openRepository } from '../../engine';
import { PASS, TEST_INIT, prng, tempDir, writeImage } from '../helpers';

// A real full disk: the store lives on a 3 MiB tmpfs. Mounting needs root, which CI has (.ci/run
// runs as root); elsewhere the test is skipped rather than faked.
const asRoot = process.getuid?.() === 0 ? it : it.skip;

asRoot('a backup that fills the store\'s disk fails with STORE_FULL and leaves the store valid', async () => {
  const dir = await tempDir();
  const mnt = join(dir.path, 'small-disk');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
  try {
    const repoPath = join(mnt, 'repo');
    await initRepository(repoPath, PASS, { ...TEST_INIT, packSize: 1 << 20 });
    const img = await writeImage(dir.path, 'disk.img', prng(3)(8 << 20)); // incompressible: cannot fit
    const repo = await openRepository(repoPath, PASS);
    const src = await RawFileSource.open(img);
    const err = await backupImage(repo, src).catch((e: unknown) => e);
    await src.close();
    expect(err).toBeInstanceOf(BackupError);
    expect((err as BackupError).code).toBe('STORE_FULL');
    expect((err as Error).message).toMatch(/no space left/);

    const after = await openRepository(repoPath, PASS);
    expect(await listSnapshots(after)).toEqual({ snapshots: [], damaged: [] });
    expect((await checkRepository(after, { readData: true })).errors).toEqual([]);
    expect(readdirSync(join(repoPath, '.tmp'))).toEqual([]); // no half-written temporary files left
  } finally {
    execFileSync('umount', [mnt]);
    await dir.cleanup();
  }
});
