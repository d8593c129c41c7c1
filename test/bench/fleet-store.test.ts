/**
 * The fleet bench's synthetic store (bench/fleet-store.ts) is what it claims to be: every snapshot
 * listed from one catalog object, as after a forget, prune or compact (not one object per save):
 * a store the engine lists like any other.
 */
import { join } from 'node:path';
import { buildFleetStore } from '../../bench/fleet-store';
import { listSnapshots, openRepository } from '../../engine';
import { tempDir } from '../helpers';

it('builds a store whose catalog is one object covering every snapshot', async () => {
  const dir = await tempDir('scwb-fleet-store-');
  try {
    const location = join(dir.path, 'store');
    const passphrase = 'a passphrase for the fleet store test';
    const built = await buildFleetStore(location, { blobs: 5_000, snapshots: 30, seed: 7, passphrase });
    const repo = await openRepository(location, passphrase);
    try {
      const catalog: string[] = [];
      for await (const o of repo.backend.list('catalog')) catalog.push(o.path);
      expect(catalog).toHaveLength(1);
      const { snapshots, damaged } = await listSnapshots(repo);
      expect({ count: snapshots.length, damaged }).toEqual({ count: 30, damaged: [] });
      expect(snapshots.some((s) => s.source.location === built.someSource)).toBe(true);
    } finally {
      await repo.backend.close();
    }
  } finally {
    await dir.cleanup();
  }
});
