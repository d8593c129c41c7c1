/**
 * A restore drill to a scratch Block Storage volume (drill.ts): restore the snapshot as a new,
 * unattached volume as a real restore would, compare every byte of that volume with the snapshot
 * through its export (verify-volume.ts), and delete the volume whatever happened. The RTO runs from
 * the start to the end of the comparison: a restored volume proven identical is a usable one.
 */
import { runDrill, type DrillOptions, type DrillResult } from '../drill';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { restoreBlockVolume } from './block-restore';
import { TAG, stamp } from './common';
import type { ScalewayClients } from './config';
import type { BackupStaging } from './export-backup';
import { RestoreIncompleteError, type RestoreStaging } from './import-restore';
import { verifyVolume } from './verify-volume';
import { callScaleway, type FlowTimeouts } from './wait';

export const DRILL_TAG = 'scw-backup:drill';

export interface VolumeDrillOptions extends DrillOptions {
  snapshot: Snapshot;
  zone: string;
  bucket: string;
  prefix?: string;
  /** The scratch volume's name (default `scw-backup-drill-<snapshot>-<time>`). */
  name?: string;
  timeouts?: FlowTimeouts;
}

export interface VolumeDrillResult extends DrillResult {
  /** The scratch volume (deleted by the drill), when one was created. */
  volumeId?: string;
}

export async function drillVolume(repo: Repository, clients: ScalewayClients, staging: BackupStaging & RestoreStaging, o: VolumeDrillOptions): Promise<VolumeDrillResult> {
  const wall = (): number => (o.clock ?? { wall: Date.now }).wall();
  let volumeId: string | undefined;
  const result = await runDrill(repo, o.snapshot, 'scaleway-block', {
    async restoreAndVerify() {
      const common = { zone: o.zone, bucket: o.bucket, prefix: o.prefix, timeouts: o.timeouts, onWarning: o.onWarning };
      try {
        const r = await restoreBlockVolume(repo, clients, staging, {
          ...common, snapshot: o.snapshot, name: o.name ?? `scw-backup-drill-${o.snapshot.id.slice(0, 12)}-${stamp(wall())}`, tags: [TAG, DRILL_TAG],
          onProgress: o.onProgress,
        });
        volumeId = r.volumeId;
      } catch (err) {
        // A volume made before the restore failed is the drill's to remove.
        if (err instanceof RestoreIncompleteError) volumeId = err.volumeId;
        throw err;
      }
      o.signal?.throwIfAborted();
      return verifyVolume(repo, clients, staging, { ...common, volumeId, snapshot: o.snapshot });
    },
    async cleanup() {
      if (volumeId === undefined) return;
      const id = volumeId;
      await callScaleway(`delete drill volume ${id}`, () => clients.block.deleteVolume({ zone: o.zone, volumeId: id }));
    },
  }, o);
  return { ...result, volumeId };
}
