/**
 * The Instance the code under test runs on, as far as the emulator can make one: the Instance
 * metadata service (GET /conf?format=json, what http://169.254.42.42/conf?format=json answers on a
 * Scaleway Instance), and the block devices of the SBS volumes attached to it, as files under a
 * folder named like /dev/disk/by-id (symbolic links to the volumes' disk files).
 *
 * Sources: the metadata URL and fields are the Scaleway Go SDK's (api/instance/v1/
 * instance_metadata_sdk.go: metadataAPIv4 = http://169.254.42.42, GetMetadata reads
 * /conf?format=json into Metadata{id, name, hostname, project, commercial_type, zone,
 * location{zone_id}, volumes, ...}); the device name is docs-content
 * pages/instances/reference-content/identify-devices.mdx: an SBS volume is a SCSI disk with vendor
 * SCW, model sbs, serial volume-<uuid>, and udev's 60-persistent-storage rules link it as
 * /dev/disk/by-id/scsi-0SCW_sbs_volume-<uuid>.
 *
 * Guesses (README.md): that the device appears as soon as the attach call returns (udev takes a
 * moment on a real Instance: the engine waits for it), and the metadata fields not read here.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sendJson } from './http';
import { instanceDate, type ServerRecord, type VolumeRecord } from './model';
import type { Router } from './router';
import type { EmulatorState } from './state';

/** The udev name of an attached SBS volume (identify-devices.mdx). */
export function deviceName(volumeId: string): string {
  return `scsi-0SCW_sbs_volume-${volumeId}`;
}

/** Which server "this machine" is, and where its attached volumes appear. */
export class LocalServer {
  serverId: string | undefined;

  constructor(readonly deviceDir: string) {
    mkdirSync(deviceDir, { recursive: true });
  }

  /** A volume was attached to `server`: if that is this machine, its device appears. */
  attached(server: ServerRecord, volume: VolumeRecord, diskPath: string): void {
    if (server.id !== this.serverId || volume.type === 'l_ssd' || volume.type === 'scratch') return;
    const link = join(this.deviceDir, deviceName(volume.id));
    rmSync(link, { force: true });
    symlinkSync(diskPath, link);
  }

  /** A volume was detached: its device is gone. */
  detached(volume: VolumeRecord): void {
    rmSync(join(this.deviceDir, deviceName(volume.id)), { force: true });
  }
}

export function addMetadataRoutes(router: Router, state: EmulatorState): void {
  // The metadata service needs no token: it answers whoever runs on the Instance.
  router.add('GET', '/conf', async (ctx) => {
    const s = state.local.serverId ? state.servers.get(state.local.serverId) : undefined;
    if (!s) {
      ctx.res.writeHead(404, { 'Content-Type': 'text/plain' });
      ctx.res.end('not running on an Instance (the emulator was given no local server)');
      return;
    }
    const volumes: Record<string, unknown> = {};
    s.volumeIds.forEach((id, i) => {
      const v = state.volumes.get(id);
      if (v) volumes[String(i)] = { id: v.id, name: v.name, volume_type: v.type === 'l_ssd' || v.type === 'scratch' ? v.type : 'sbs_volume', size: v.size, state: 'available' };
    });
    sendJson(ctx.res, 200, {
      id: s.id, name: s.name, hostname: s.name, organization: s.organizationId, project: s.projectId, commercial_type: s.commercialType,
      zone: s.zone, location: { zone_id: s.zone }, state: s.state, tags: [...s.tags], volumes,
      creation_date: instanceDate(s.createdAt), modification_date: instanceDate(s.updatedAt),
    });
  });
}
