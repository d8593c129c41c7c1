/**
 * The Scaleway Instance forms of `backup` and `restore` (docs/SCALEWAY.md "Instances"):
 *   scw-backup backup  --repo R scaleway-instance://ZONE/SERVER_ID --bucket B [--tag k=v ...]
 *   scw-backup restore --repo R GROUP --to scaleway-instance://ZONE/SERVER_ID [--stop-server] --bucket B
 *   scw-backup restore --repo R GROUP --to scaleway-instance://ZONE --new-server NAME --bucket B
 * Thin: parses, builds the clients from the scw CLI variables, calls the engine, prints.
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { parseScalewayInstanceUrl } from '../../engine/scaleway/url';
import { interruptSignal } from '../interrupt';
import { formatBytes } from '../output';
import { filterFrom, resolveSnapshot, type FilterFlags } from '../snapshot-filter';
import { usageOnBadUrl, withScalewaySession, type ScalewayFlags } from './scaleway';

export const SCALEWAY_INSTANCE_SCHEME = 'scaleway-instance:';

export function isScalewayInstanceUrl(arg: string): boolean {
  return arg.startsWith(SCALEWAY_INSTANCE_SCHEME);
}

export async function backupScalewayInstance(cmd: Command, url: string, flags: ScalewayFlags & { tag?: Record<string, string>; host?: string; keepNativeSnapshot?: boolean }): Promise<void> {
  const target = usageOnBadUrl(cmd, () => parseScalewayInstanceUrl(url, true));
  await withScalewaySession(flags, target.zone, async ({ sw, repo, clients, staging, bucket, out }) => {
    const r = await sw.backupInstance(repo, clients, staging, {
      zone: target.zone, serverId: target.serverId as string, bucket, prefix: flags.stagingPrefix, tags: flags.tag, hostname: flags.host,
      keepNativeSnapshot: flags.keepNativeSnapshot, onProgress: out.progress(), onWarning: (m) => out.warning(m), signal: interruptSignal(),
      onVolume: (i, id, type) => {
        out.endProgress();
        out.text(`volume ${i}: ${id} (${type})`);
      },
    });
    out.endProgress();
    const s = r.group.stats;
    out.text(`group ${r.group.id.slice(0, 12)} saved: server ${r.server.name} (${r.server.id}), ${r.volumes.length} volume(s): ` +
      r.volumes.map((v) => `${v.index}${v.boot ? ' boot' : ''} ${v.volumeType} ${v.snapshot.id.slice(0, 12)}`).join(', ') +
      `; ${formatBytes(s.bytesRead)} read, ${formatBytes(s.bytesNew)} new, ${formatBytes(s.bytesStored)} stored`);
    out.summary('backup', {
      snapshotId: r.group.id, kind: 'scaleway-instance', serverId: r.server.id, tags: r.group.tags, ...s,
      volumes: r.volumes.map((v) => ({ index: v.index, boot: v.boot, volumeType: v.volumeType, volumeId: v.volume.id, snapshotId: v.snapshot.id, cleanup: v.cleanup, leftovers: v.leftovers })),
    });
  });
}

export async function restoreScalewayInstance(
  cmd: Command, ref: string, to: string, flags: ScalewayFlags & FilterFlags & { newServer?: string; stopServer?: boolean; commercialType?: string },
): Promise<void> {
  const target = usageOnBadUrl(cmd, () => parseScalewayInstanceUrl(to, false));
  if ((target.serverId === undefined) === (flags.newServer === undefined)) {
    throw new InvalidInputError('--to', 'give scaleway-instance://ZONE/SERVER_ID to restore onto a server, or scaleway-instance://ZONE with --new-server NAME');
  }
  await withScalewaySession(flags, target.zone, async ({ sw, repo, clients, staging, bucket, out }) => {
    const group = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'group', strict: true });
    const r = await sw.restoreInstance(repo, clients, staging, {
      group, zone: target.zone, bucket, prefix: flags.stagingPrefix, newServerName: flags.newServer, serverId: target.serverId,
      allowStop: flags.stopServer, commercialType: flags.commercialType, onProgress: out.progress(), onWarning: (m) => out.warning(m),
      signal: interruptSignal(),
    });
    out.endProgress();
    out.text(`restored group ${group.id.slice(0, 12)} to ${r.serverCreated ? 'new ' : ''}server ${r.serverId} in ${target.zone}: ` +
      r.volumes.map((v) => `${v.index}${v.boot ? ' boot' : ''} ${v.volumeType} ${v.volumeId}`).join(', ') +
      (r.detached.length ? `; its previous volumes ${r.detached.join(', ')} are detached and kept` : ''));
    out.summary('restore', { snapshotId: group.id, format: 'scaleway-instance', ...r });
  });
}
