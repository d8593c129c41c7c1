/**
 * Check a Block Storage volume against a stored snapshot, byte for byte, without attaching it to
 * anything (a restore drill's proof): snapshot the volume, export it to the staging bucket, read
 * the export with ranged GETs and compare every data chunk's keyed hash with the snapshot's disk
 * map, and every hole with zeros. The temporary snapshot and object are removed, also on failure.
 */
import { chunkId } from '../crypto/chunk-id';
import { openQcow2 } from '../qcow2';
import type { DiskSource } from '../source/disk-source';
import { withLock } from '../store/lock-scope';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { readDiskMap } from '../store/snapshots';
import { DEFAULT_STAGING_PREFIX, STAGING_TAG, TAG, checkId, checkPrefix, cleanupStep, interruptedWith, newCleanupReport, stamp, type CleanupReport } from './common';
import { checkZone, type ScalewayClients } from './config';
import { attachCleanup, type BackupStaging } from './export-backup';
import { checkTransferable } from './limits';
import { blockSnapshots } from './native-snapshots';
import { S3ObjectReader } from './s3-object-reader';
import type { FlowTimeouts } from './wait';

export interface VerifyVolumeOptions {
  zone: string;
  volumeId: string;
  snapshot: Snapshot;
  bucket: string;
  prefix?: string;
  timeouts?: FlowTimeouts;
  now?: () => number;
  onWarning?: (message: string) => void;
  /** Largest volume Scaleway exports (default 1 TB, limits.ts; tests lower it). */
  transferLimit?: number;
  /** Stop at the next safe point, remove the snapshot and object, throw an InterruptedError. */
  signal?: AbortSignal;
}

export interface VerifyVolumeResult {
  /** Guest bytes compared: the snapshot's whole disk. */
  bytesCompared: number;
  chunks: number;
  /** Ranges whose bytes differ (at most 100 listed). */
  mismatches: Array<{ offset: number; length: number }>;
  cleanup: CleanupReport;
}

const MAX_READ = 4 * 1024 * 1024;
const MAX_LISTED = 100;

export async function verifyVolume(repo: Repository, clients: ScalewayClients, staging: BackupStaging, o: VerifyVolumeOptions): Promise<VerifyVolumeResult> {
  const zone = checkZone(o.zone);
  const volumeId = checkId(o.volumeId, 'volume id');
  const prefix = checkPrefix(o.prefix ?? DEFAULT_STAGING_PREFIX);
  const now = o.now ?? Date.now;
  checkTransferable(`volume ${volumeId} in ${zone}`, zone, o.snapshot.size, 'verify', o.transferLimit);
  const snapshots = blockSnapshots(clients, zone, o.signal);
  const cleanup = newCleanupReport();
  let nativeId: string | undefined;
  let key: string | undefined;
  let result: Omit<VerifyVolumeResult, 'cleanup'> | undefined;
  let failure: { error: unknown } | undefined;
  try {
    nativeId = await snapshots.create(volumeId, `scw-backup-verify-${volumeId}-${stamp(now())}`, [TAG, STAGING_TAG]);
    await snapshots.waitCreated(nativeId, o.timeouts);
    key = `${prefix}/verify/${volumeId}/${nativeId}.qcow2`;
    await snapshots.exportTo(nativeId, o.bucket, key, o.timeouts);
    const image = await openQcow2(await S3ObjectReader.open(staging, key, { location: `scaleway-block://${zone}/${volumeId}`, signal: o.signal }), { onWarning: o.onWarning });
    try {
      result = await compareWithSnapshot(repo, o.snapshot, image, o.signal);
    } finally {
      await image.close();
    }
  } catch (err) {
    failure = { error: err };
  }
  // Cleanup whatever happened (an export the run was stopped in is waited out first), then report.
  if (nativeId && failure) await snapshots.settle(nativeId, o.timeouts).catch(() => undefined);
  if (key) {
    const k = key;
    await cleanupStep(cleanup, `s3://${o.bucket}/${k}`, () => staging.delete(k), o.onWarning);
  }
  if (nativeId) {
    const id = nativeId;
    await cleanupStep(cleanup, `snapshot ${id}`, () => snapshots.delete(id), o.onWarning);
  }
  if (failure) throw o.signal?.aborted ? interruptedWith(o.signal, failure.error, cleanup) : attachCleanup(failure.error, cleanup);
  if (!result) throw new Error('unreachable: verification finished without a result');
  return { ...result, cleanup };
}

/** Compare a disk with a snapshot: chunk by chunk by keyed hash, holes against zeros. */
export function compareWithSnapshot(repo: Repository, snapshot: Snapshot, disk: DiskSource, signal?: AbortSignal): Promise<Omit<VerifyVolumeResult, 'cleanup'>> {
  // Reads the snapshot's map pages from the store: under a reader's lock, like a restore.
  return withLock(repo, { operation: 'verify', snapshot, signal }, () => compareLocked(repo, snapshot, disk));
}

async function compareLocked(repo: Repository, snapshot: Snapshot, disk: DiskSource): Promise<Omit<VerifyVolumeResult, 'cleanup'>> {
  await repo.loadIndex();
  const mismatches: VerifyVolumeResult['mismatches'] = [];
  let chunks = 0;
  const note = (offset: number, length: number) => {
    const last = mismatches[mismatches.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else if (mismatches.length < MAX_LISTED) mismatches.push({ offset, length });
  };
  if (disk.size < snapshot.size) note(disk.size, snapshot.size - disk.size);
  const buf = Buffer.allocUnsafe(MAX_READ);
  for await (const page of readDiskMap(repo, snapshot)) {
    for (const e of page) {
      const end = Math.min(e.offset + e.length, disk.size);
      if (e.id) {
        if (end - e.offset !== e.length) continue; // past the disk: noted above
        const data = e.length <= MAX_READ ? buf.subarray(0, e.length) : Buffer.allocUnsafe(e.length);
        await disk.read(e.offset, data);
        chunks++;
        if (!chunkId(repo.keys.chunkId, data).equals(e.id)) note(e.offset, e.length);
        continue;
      }
      for (let at = e.offset; at < end; at += MAX_READ) {
        const view = buf.subarray(0, Math.min(MAX_READ, end - at));
        await disk.read(at, view);
        // Zero blocks of 64 KiB from the hole's start: a difference is located to its block.
        for (let p = 0; p < view.length; p += ZEROS.length) {
          const n = Math.min(ZEROS.length, view.length - p);
          if (view.compare(ZEROS, 0, n, p, p + n) !== 0) note(at + p, n);
        }
      }
    }
  }
  return { bytesCompared: snapshot.size, chunks, mismatches };
}

const ZEROS = Buffer.alloc(64 * 1024);
