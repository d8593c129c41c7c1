/**
 * A damaged manifest seen from Pulumi: BackupStore reports it by id, and a BackupSource whose last
 * snapshot is damaged says so in read (status `damaged-in-store`, keeping that id) and in diff (a reason, so a backup
 * is taken and `pulumi preview --expect-no-changes` flags it), counting only readable snapshots.
 */
import { join } from 'node:path';
import { backupImage, type DiskSource } from '../../engine';
import { initStore, withStore, type StoreConnection } from '../../provider/connection';
import { diffSource, readSource, refreshSource, sourceLocation, type BackupSourceInputs } from '../../provider/source-ops';
import { readStore } from '../../provider/store-ops';
import { TEST_INIT, prng, tempDir } from '../helpers';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('scwb-provider-damaged-');
});
afterEach(() => dir.cleanup());

/** A 256 KiB disk that says it is the source's Scaleway volume. */
function disk(location: string, seed: number): DiskSource {
  const bytes = prng(seed)(256 * 1024);
  return {
    info: { format: 'raw', location }, size: bytes.length,
    async *extents() {
      yield { offset: 0, length: bytes.length };
    },
    async read(offset, into) {
      into.set(bytes.subarray(offset, offset + into.length));
    },
    async close() {},
  };
}

it('reports a damaged last snapshot in read and diff, and the store lists it by id', async () => {
  const store: StoreConnection = { url: join(dir.path, 'store'), passphrase: 'a passphrase for this test' };
  const inputs: BackupSourceInputs = {
    kind: 'volume', zone: 'fr-par-1', resourceId: '11111111-2222-4333-8444-555555555555', bucket: 'staging', store,
    scaleway: { accessKey: 'SCWXXXXXXXXXXXXXXXXX', secretKey: '11111111-2222-4333-8444-555555555555', projectId: '11111111-2222-4333-8444-555555555555' },
    schedule: '24h',
  };
  const repo = await initStore(store, TEST_INIT);
  const first = await backupImage(repo, disk(sourceLocation(inputs), 1), { workers: 0 });
  const last = await backupImage(repo, disk(sourceLocation(inputs), 2), { workers: 0, time: new Date(Date.parse(first.time) + 1000) });
  const state = await readSource(inputs);
  expect(state).toMatchObject({ lastSnapshotId: last.id, snapshotCount: 2, status: 'ok' });
  expect(await diffSource(state, inputs, new Date())).toEqual({ reasons: [], replaces: [], backup: false, drift: [] });

  // The last snapshot's file now holds the first one's bytes.
  await withStore(store, async (r) => {
    const bytes = await r.backend.get(`snapshots/${first.id}`);
    await r.backend.delete(`snapshots/${last.id}`);
    await r.backend.put(`snapshots/${last.id}`, bytes);
  });
  const refreshed = await refreshSource(state);
  // Refresh keeps the id the state promised: the next preview still reports it (#17).
  expect(refreshed).toMatchObject({ status: 'damaged-in-store', snapshotCount: 1, lastSnapshotId: last.id });
  expect((await diffSource(state, inputs, new Date())).reasons).toEqual([
    expect.stringMatching(new RegExp(`^the last snapshot ${last.id.slice(0, 12)} is damaged in the store \\(snapshots/${last.id} is damaged: its contents do not match its name`)),
  ]);
  expect(await readStore({ store, snapshotCount: 2, damagedSnapshots: [], adopted: false })).toMatchObject({ snapshotCount: 1, damagedSnapshots: [last.id] });
});
