import { planQcow2, qcow2DataPlacement, qcow2Metadata } from './qcow2';
import { restoreToFile, type RestoreOptions, type RestoreResult } from './restore';
import { SnapshotSource } from './source/snapshot-source';
import type { Repository } from './store/repository';
import type { Snapshot } from './store/snapshot';

/**
 * Restore a snapshot as a QCOW2 v3 image file (uncompressed, no backing file: what Scaleway
 * imports). Holes stay unallocated clusters. The layout is planned from the disk map, the metadata
 * written first, then the data clusters by the parallel restore (restore.ts) at their place in the
 * image, out of order, as for a raw disk. (qcow2Stream gives the same image as a stream, for uploads.)
 */
export function restoreQcow2(repo: Repository, snapshot: Snapshot, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return restoreToFile(repo, snapshot, target, options, async () => {
    // Zero runs are already holes in the disk map: trust the extents, don't read data twice.
    const source = new SnapshotSource(repo, snapshot);
    const plan = await planQcow2(source, { skipZeroClusters: false }).finally(() => source.close());
    return { size: plan.length, place: qcow2DataPlacement(plan), prefix: qcow2Metadata(plan) };
  });
}
