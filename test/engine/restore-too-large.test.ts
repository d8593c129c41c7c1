/**
 * A restore whose disk is larger than the target can hold ends in one typed error naming the target
 * (or the snapshot) and the size, and leaves nothing behind: a raw file past what the file system
 * allows for one file (ext4 with 4 KiB blocks: 16 TiB), a QCOW2 image past qemu's L1 table limit.
 */
import { readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupError, backupImage, initRepository, restoreImage, restoreQcow2, type DiskSource, type Extent, type Repository, type Snapshot,
} from '../../engine';
import { PASS, TEST_INIT, tempDir } from '../helpers';

/** 2^53 - 1 bytes: the largest disk the engine addresses, far past any ext4 file. */
const HUGE = Number.MAX_SAFE_INTEGER;
const EXT4_SUPER_MAGIC = 0xef53;

/** An empty disk of `size` bytes: no extent, so the backup records one hole and reads nothing. */
function emptyDisk(size: number): DiskSource {
  return {
    info: { format: 'raw', location: 'empty-disk' },
    size,
    async *extents(): AsyncIterable<Extent> {},
    async read(): Promise<void> {
      throw new Error('an empty disk is never read');
    },
    async close(): Promise<void> {},
  };
}

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;
let snap: Snapshot;
beforeAll(async () => {
  dir = await tempDir();
  repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
  snap = await backupImage(repo, emptyDisk(HUGE), { workers: 0 });
  expect(snap.size).toBe(HUGE);
});
afterAll(() => dir.cleanup());

it('a raw restore past the file system limit is FILE_TOO_LARGE, naming the target and the size', async () => {
  // The test needs a file system that refuses such a file (tmpfs would take it).
  if (statfsSync(dir.path).type !== EXT4_SUPER_MAGIC) {
    console.warn(`restore-too-large: ${dir.path} is not on ext4; test skipped`);
    return;
  }
  const target = join(dir.path, 'huge.raw');
  const err = await restoreImage(repo, snap, target, { workers: 0 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackupError);
  expect(err).toMatchObject({ code: 'FILE_TOO_LARGE', path: target, size: HUGE });
  expect((err as Error).message).toBe(
    `${target}: the file system there cannot hold a file of ${HUGE} bytes; ` +
    'write it to a file system that allows files this large (ext4 with 4 KiB blocks stops at 16 TiB)',
  );
  expect(readdirSync(dir.path)).toEqual(['repo']);
});

it('a QCOW2 restore past the L1 table limit is refused before anything is allocated or written', async () => {
  const target = join(dir.path, 'huge.qcow2');
  const err = await restoreQcow2(repo, snap, target, { workers: 0 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'INVALID_INPUT' });
  // The size is rounded up to whole 512-byte sectors (docs/QCOW2.md "Virtual size").
  expect((err as Error).message).toBe(
    `snapshot ${snap.id.slice(0, 12)} in ${repo.location}: a ${2 ** 53}-byte disk needs a QCOW2 L1 table over qemu's 32 MiB limit ` +
    'with 65536-byte clusters; use larger clusters (up to 2 MiB), or a raw image',
  );
  expect(readdirSync(dir.path)).toEqual(['repo']);
});
