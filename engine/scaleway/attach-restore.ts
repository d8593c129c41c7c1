/**
 * Restore of a stored disk as a new Block Storage volume by direct attach, for disks of any size and
 * without a QCOW2 upload and an import: create an empty volume, attach it to this Instance
 * (attach.ts), write the snapshot's data onto its block device (sparse: only the disk map's data
 * chunks, and of those only the pieces that are not all zeros; every chunk verified as it is read),
 * flush it, detach it, then attach it to the target server if asked. A failure or a stop request
 * (SIGINT, SIGTERM) before that last step detaches and deletes the new volume.
 *
 * A new volume reads as zeros where nothing was written: skipping the holes relies on it (what
 * thin-provisioned block storage does; Scaleway does not document it: docs/SCALEWAY.md, "Guesses").
 */
import { open } from 'node:fs/promises';
import { SnapshotSource } from '../source/snapshot-source';
import { withLock } from '../store/lock-scope';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { attachAndWait, detachAndWait, removeVolume, thisInstance, type AttachOptions } from './attach';
import { FlowProgress, callOrNotFound, cleanupStep, interruptedWith, newCleanupReport, type CleanupReport } from './common';
import type { ScalewayClients } from './config';
import { attachCleanup } from './export-backup';
import { RestoreIncompleteError } from './import-restore';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';
import type { ProgressCallback } from '../progress';

/** Pieces written at once (one source.read() each). */
const PIECE = 4 * 1024 * 1024;

export interface AttachRestoreOptions {
  snapshot: Snapshot;
  zone: string;
  /** Bytes (default the original volume's; never smaller than the disk). */
  size: number;
  name: string;
  perfIops?: number;
  tags: string[];
  attachToServerId?: string;
  replaceVolumeId?: string;
  onProgress?: ProgressCallback;
  onWarning?: (message: string) => void;
  timeouts?: FlowTimeouts;
  signal?: AbortSignal;
  attach?: AttachOptions;
  noLock?: boolean;
}

export interface AttachRestoreResult {
  volumeId: string;
  volumeName: string;
  size: number;
  attachedTo?: string;
  replaced?: string;
  /** Bytes written onto the device (the data, not the holes). */
  bytesWritten: number;
  cleanup: CleanupReport;
}

export async function restoreThroughAttach(repo: Repository, clients: ScalewayClients, o: AttachRestoreOptions): Promise<AttachRestoreResult> {
  const { zone, signal } = o;
  const me = await thisInstance(zone, o.attach);
  const progress = new FlowProgress(o.onProgress);
  const warn = o.onWarning;
  const cleanup = newCleanupReport();
  let volumeId: string | undefined;
  let attachedHere = false;
  let done: { name: string; size: number } | undefined;
  let written = 0;
  let failure: { error: unknown } | undefined;
  try {
    progress.phase('creating-volume', o.size);
    const created = await callScaleway(`create volume ${o.name}`, () => clients.block.createVolume({
      zone, name: o.name, perfIops: o.perfIops, projectId: clients.profile.projectId, fromEmpty: { size: o.size }, tags: o.tags,
    }), { signal });
    volumeId = created.id;
    const id = volumeId;
    const v = await waitForStatus({
      resource: 'volume', id, wanted: 'available', fetch: () => clients.block.getVolume({ zone, volumeId: id }),
      status: (x) => x.status, done: ['available'], failed: ['error', 'locked', 'deleted', 'deleting'],
    }, phaseWait(o.timeouts, 'volume', signal));
    done = { name: v.name, size: v.size };

    progress.phase('attaching', o.size);
    attachedHere = true;
    const device = await attachAndWait(clients, zone, me.serverId, id, { ...o.attach, signal });
    progress.phase('writing', o.snapshot.size);
    written = await writeDisk(repo, o, device, progress);

    // Off this Instance; onto the target, if any. The swap runs to its end once started.
    progress.phase('detaching', o.size);
    await detachAndWait(clients, zone, me.serverId, id, o.timeouts);
    attachedHere = false;
    signal?.throwIfAborted();
  } catch (err) {
    failure = { error: err };
  }
  if (failure) {
    // The new volume is ours to remove: detached from this Instance first.
    if (volumeId) {
      const id = volumeId;
      await cleanupStep(cleanup, `volume ${id}`, async () => {
        if (attachedHere) await detachAndWait(clients, zone, me.serverId, id, o.timeouts);
        await removeVolume(clients, zone, id, o.timeouts);
      }, warn);
    }
    throw signal?.aborted ? interruptedWith(signal, failure.error, cleanup) : attachCleanup(failure.error, cleanup);
  }
  if (!volumeId || !done) throw new Error('unreachable: restore finished without a volume');
  let attachedTo: string | undefined;
  let replaced: string | undefined;
  if (o.attachToServerId) {
    const serverId = o.attachToServerId;
    progress.phase('attaching', o.size);
    try {
      if (o.replaceVolumeId) {
        const old = o.replaceVolumeId;
        await callOrNotFound('server', serverId, zone, `detach volume ${old} from server ${serverId}`, () => clients.instance.detachServerVolume({ zone, serverId, volumeId: old }));
        replaced = old;
      }
      const id = volumeId;
      await callOrNotFound('server', serverId, zone, `attach volume ${id} to server ${serverId}`, () => clients.instance.attachServerVolume({ zone, serverId, volumeId: id, volumeType: 'sbs_volume' }));
      attachedTo = serverId;
    } catch (err) {
      warn?.(`volume ${volumeId} was restored and is left in place: ${err instanceof Error ? err.message : String(err)}`);
      throw new RestoreIncompleteError(volumeId, zone, err);
    }
  }
  progress.bytes('done', written, written, 0, written, true);
  return { volumeId, volumeName: done.name, size: done.size, attachedTo, replaced, bytesWritten: written, cleanup };
}

/** The snapshot's data onto the device, under a reader's lock of the store: bytes written. */
function writeDisk(repo: Repository, o: AttachRestoreOptions, device: string, progress: FlowProgress): Promise<number> {
  return withLock(repo, { operation: 'restore', reader: true, noLock: o.noLock, snapshot: o.snapshot, warn: o.onWarning, signal: o.signal }, async (lock) => {
    await repo.loadIndex();
    const source = new SnapshotSource(repo, o.snapshot, { lock });
    // Not created, not truncated: the device is the volume.
    const target = await open(device, 'r+');
    const buf = Buffer.alloc(PIECE);
    let written = 0;
    try {
      for await (const e of source.extents()) {
        for (let at = e.offset; at < e.offset + e.length; at += PIECE) {
          o.signal?.throwIfAborted();
          const piece = buf.subarray(0, Math.min(PIECE, e.offset + e.length - at));
          await source.read(at, piece);
          if (isZero(piece)) continue; // discarded: a new volume reads as zeros
          for (let done = 0; done < piece.length;) done += (await target.write(piece, done, piece.length - done, at + done)).bytesWritten;
          written += piece.length;
          progress.bytes('writing', at + piece.length, o.snapshot.size, 0, written);
        }
      }
      await target.sync();
    } finally {
      await target.close();
      await source.close();
    }
    return written;
  });
}

const ZERO = Buffer.alloc(PIECE);
function isZero(b: Buffer): boolean {
  return b.equals(ZERO.subarray(0, b.length));
}
