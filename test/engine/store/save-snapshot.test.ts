/**
 * No command may write a manifest that readers refuse (FORMAT.md §8): saveSnapshot checks the JSON it
 * is about to seal exactly as readers check it, and backupImage refuses a disk larger than a
 * manifest can record before it reads anything.
 */
import { join } from 'node:path';
import { InvalidInputError, backupImage, type DiskSource, type SnapshotManifest } from '../../../engine';
import { saveSnapshot } from '../../../engine/store/snapshots';
import { tempDir } from '../../helpers';
import { listPaths, makeStore } from '../retention/helpers';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('scwb-save-');
});
afterEach(() => dir.cleanup());

const PAGE = 'ab'.repeat(32);

function manifest(over: Partial<SnapshotManifest>): SnapshotManifest {
  return {
    version: 1, time: '2026-11-25T13:00:00.000Z', hostname: 'h', username: 'u', source: { format: 'raw', location: '/disk.img' }, tags: {},
    size: 0, chunker: { kind: 'fixed', size: 65536 }, map: [],
    stats: { bytesRead: 0, bytesNew: 0, bytesStored: 0, chunks: 0, newChunks: 0, holeBytes: 0, durationMs: 0 },
    ...over,
  };
}

it('refuses a manifest readers would refuse, naming the source and the reason, and writes nothing', async () => {
  const repo = await makeStore(join(dir.path, 'repo'));
  const cases: Array<[Partial<SnapshotManifest>, RegExp]> = [
    // What a 2^53-byte disk used to produce: every reader refused it afterwards.
    [{ size: 2 ** 53, map: [{ offset: 0, length: 2 ** 53, id: PAGE }] }, /size: Number must be less than or equal to 9007199254740991/],
    [{ size: 512 }, /disk map covers 0 bytes of a 512-byte disk/],
    [{ size: 1024, map: [{ offset: 512, length: 512, id: PAGE }] }, /disk map page at 512 does not follow on from 0/],
    [{ stats: { ...manifest({}).stats, bytesRead: NaN } }, /stats\.bytesRead/], // JSON turns NaN into null
  ];
  for (const [over, why] of cases) {
    const err = await saveSnapshot(repo, manifest(over)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/^snapshot of \/disk\.img: not saved: /);
    expect((err as Error).message).toMatch(why);
  }
  expect(await listPaths(repo.backend, 'snapshots')).toEqual([]);
  const id = await saveSnapshot(repo, manifest({ size: 2 ** 53 - 512, map: [{ offset: 0, length: 2 ** 53 - 512, id: PAGE }] }));
  expect(await listPaths(repo.backend, 'snapshots')).toEqual([`snapshots/${id}`]);
});

it('backupImage refuses a disk larger than a snapshot can record before reading it', async () => {
  const repo = await makeStore(join(dir.path, 'repo'));
  const read = jest.fn();
  const source: DiskSource = {
    info: { format: 'raw', location: '/dev/huge' }, size: 2 ** 53,
    async *extents() {}, read, async close() {},
  };
  await expect(backupImage(repo, source, { workers: 0 })).rejects.toThrow(/^\/dev\/huge: a disk of 9007199254740992 bytes cannot be backed up: the largest a snapshot can record is 9007199254740991/);
  expect(read).not.toHaveBeenCalled();
  expect(await listPaths(repo.backend, '')).toEqual(expect.not.arrayContaining([expect.stringMatching(/^(locks|packs|snapshots)\//)]));
});
