/**
 * The Scaleway Block forms of `backup` and `restore` (docs/SCALEWAY.md):
 *   scw-backup backup  --repo R scaleway-block://ZONE/VOLUME_ID --bucket B [--tag k=v ...]
 *   scw-backup restore --repo R SNAPSHOT --to scaleway-block://ZONE --bucket B [--name N] [--attach SERVER_ID [--replace VOLUME_ID]]
 * Thin: parses, builds the clients from the scw CLI variables, calls the engine, prints.
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { parseScalewayBlockUrl, type ScalewayBlockUrl } from '../../engine/scaleway/url';
import { parseInteger, parseVolumeSize } from '../args';
import { EXIT_USAGE, openRepo, type RepoFlags } from '../common';
import type { Repository } from '../../engine/store/repository';
import type { ScalewayClients } from '../../engine/scaleway';
import type { S3Backend } from '../../engine/store/backends/s3';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { filterFrom, resolveSnapshot, type FilterFlags } from '../snapshot-filter';

export const SCALEWAY_BLOCK_SCHEME = 'scaleway-block:';

export interface ScalewayFlags extends RepoFlags {
  bucket?: string;
  stagingPrefix?: string;
}

/** The Scaleway and AWS SDKs load only for these commands: every other command starts faster. */
function loadScaleway(): Promise<typeof import('../../engine/scaleway')> {
  return import('../../engine/scaleway');
}

export function isScalewayBlockUrl(arg: string): boolean {
  return arg.startsWith(SCALEWAY_BLOCK_SCHEME);
}

/** A bad URL is a usage error (exit 2) naming it. */
export function usageOnBadUrl<T>(cmd: Command, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidInputError) cmd.error(`scw-backup: ${err.message}`, { exitCode: EXIT_USAGE, code: 'scw-backup.bad-url' });
    throw err;
  }
}

function parseUrl(cmd: Command, url: string, needVolume: boolean): ScalewayBlockUrl {
  return usageOnBadUrl(cmd, () => parseScalewayBlockUrl(url, needVolume));
}

function requireBucket(flags: ScalewayFlags): string {
  const bucket = flags.bucket ?? process.env.SCW_BACKUP_BUCKET;
  if (!bucket) throw new InvalidInputError('--bucket', 'no staging bucket given: pass --bucket NAME or set SCW_BACKUP_BUCKET (it must exist, in the zone\'s region)');
  return bucket;
}

/** What a Scaleway command works with: the engine's Scaleway module, the store, the clients and the staging bucket. */
export interface ScalewaySession {
  sw: typeof import('../../engine/scaleway');
  repo: Repository;
  clients: ScalewayClients;
  staging: S3Backend;
  bucket: string;
  out: Output;
}

/**
 * Open what every Scaleway command needs, from its flags and the scw CLI variables (the store unless
 * the caller opened it), run `fn`, and close the staging bucket's client whatever happens.
 */
export async function withScalewaySession(flags: ScalewayFlags, zone: string, fn: (s: ScalewaySession) => Promise<void>, opened?: Repository): Promise<void> {
  const bucket = requireBucket(flags);
  const out = new Output(!!flags.json);
  const sw = await loadScaleway();
  const profile = sw.resolveScalewayProfile({ zone });
  const repo = opened ?? await openRepo(flags);
  const staging = sw.stagingBackend(profile, bucket, { zone });
  try {
    await fn({ sw, repo, clients: sw.createScalewayClients(profile), staging, bucket, out });
  } finally {
    await staging.close();
  }
}

/** `--via export|attach|auto`; a bad value is a usage error naming it. */
function parseVia(value: string | undefined): 'export' | 'attach' | 'auto' | undefined {
  if (value === undefined || value === 'export' || value === 'attach' || value === 'auto') return value;
  throw new InvalidInputError('--via', `"${value}" is not a data path: export, attach or auto`);
}

export async function backupScalewayBlock(cmd: Command, url: string, flags: ScalewayFlags & { tag?: Record<string, string>; host?: string; keepNativeSnapshot?: boolean; via?: string }): Promise<void> {
  const target = parseUrl(cmd, url, true);
  const via = parseVia(flags.via);
  await withScalewaySession(flags, target.zone, async ({ sw, repo, clients, staging, bucket, out }) => {
    const r = await sw.backupBlockVolume(repo, clients, staging, {
      zone: target.zone, volumeId: target.volumeId as string, bucket, prefix: flags.stagingPrefix, tags: flags.tag, hostname: flags.host,
      keepNativeSnapshot: flags.keepNativeSnapshot, onProgress: out.progress(), onWarning: (m) => out.warning(m), signal: interruptSignal(), via,
    });
    out.endProgress();
    const s = r.snapshot.stats;
    out.text(`snapshot ${r.snapshot.id.slice(0, 12)} saved: volume ${r.volume.name} (${r.volume.id}, ${formatBytes(r.volume.size)}, read ${r.via === 'attach' ? 'attached to this Instance' : 'from its export'}), ` +
      `${formatBytes(s.bytesRead)} read, ${formatBytes(s.bytesNew)} new, ${formatBytes(s.bytesStored)} stored, ${(s.durationMs / 1000).toFixed(1)} s` +
      (r.nativeSnapshotKept ? `; Scaleway snapshot ${r.nativeSnapshotId} kept` : ''));
    out.summary('backup', {
      snapshotId: r.snapshot.id, size: r.snapshot.size, format: r.snapshot.source.format, formatReason: r.snapshot.source.formatReason, tags: r.snapshot.tags, source: r.snapshot.source, ...s,
      nativeSnapshotId: r.nativeSnapshotId, nativeSnapshotKept: r.nativeSnapshotKept, via: r.via, cleanup: r.cleanup, leftovers: r.leftovers,
    });
  });
}

export async function restoreScalewayBlock(
  cmd: Command, ref: string, to: string,
  flags: ScalewayFlags & FilterFlags & { name?: string; attach?: string; replace?: string; size?: string; perfIops?: string; via?: string },
): Promise<void> {
  const target = parseUrl(cmd, to, false);
  await withScalewaySession(flags, target.zone, async ({ sw, repo, clients, staging, bucket, out }) => {
    // A new volume from "latest" of a store shared by several disks must say which disk.
    const snapshot = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'disk', strict: true });
    const r = await sw.restoreBlockVolume(repo, clients, staging, {
      snapshot, zone: target.zone, bucket, prefix: flags.stagingPrefix, name: flags.name, attachToServerId: flags.attach, replaceVolumeId: flags.replace,
      size: flags.size === undefined ? undefined : parseVolumeSize(flags.size, '--size'),
      perfIops: flags.perfIops === undefined ? undefined : parseInteger(flags.perfIops, '--perf-iops'),
      onProgress: out.progress(), onWarning: (m) => out.warning(m), signal: interruptSignal(), via: parseVia(flags.via),
    });
    out.endProgress();
    out.text(`restored snapshot ${snapshot.id.slice(0, 12)} to volume ${r.volumeName} (${r.volumeId}) in ${r.zone}, ${formatBytes(r.size)}` +
      (r.attachedTo ? `, attached to server ${r.attachedTo}` : '') + (r.replaced ? ` in place of volume ${r.replaced} (detached, kept)` : ''));
    out.summary('restore', { snapshotId: snapshot.id, format: 'scaleway-block', ...r });
  });
}
