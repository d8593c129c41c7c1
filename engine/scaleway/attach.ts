/**
 * The pieces of the direct-attach data path (attach-backup.ts, attach-restore.ts): find this
 * Instance (metadata.ts), attach an SBS volume to it, wait for its block device, detach it again.
 * A volume attached to a running Instance appears as a SCSI disk that udev links, stably, as
 * /dev/disk/by-id/scsi-0SCW_sbs_volume-<volume id> (docs-content
 * pages/instances/reference-content/identify-devices.mdx: vendor SCW, model sbs, serial
 * volume-<uuid>, and the 60-persistent-storage rules' `disk/by-id/$env{ID_BUS}-$env{ID_SERIAL}`).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { Blockv1 } from '@scaleway/sdk-block';
import { abortableSleep } from '../abort';
import { BackupError } from '../errors';
import { callOrNotFound } from './common';
import type { ScalewayClients } from './config';
import { instanceMetadata, isInstance, type InstanceIdentity, type MetadataOptions } from './metadata';
import { settle } from './native-snapshots';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

export const DEVICE_DIR = '/dev/disk/by-id';

export interface AttachOptions extends MetadataOptions {
  /** Where attached volumes' devices appear (default SCW_BACKUP_DEVICE_DIR, else /dev/disk/by-id). */
  deviceDir?: string;
  /** How long to wait for a device after the attach (default 60 s: udev is quick, a busy host less so). */
  deviceWaitMs?: number;
}

/** The block device of an attached SBS volume. */
export function devicePath(volumeId: string, dir = DEVICE_DIR): string {
  return join(dir, `scsi-0SCW_sbs_volume-${volumeId}`);
}

/** --via attach was asked for (or needed) off a Scaleway Instance of the volume's zone. */
export class AttachUnavailableError extends BackupError {
  constructor(zone: string, why: string) {
    super('SCW_ATTACH_UNAVAILABLE', `the direct-attach path needs scw-backup to run on a Scaleway Instance in ${zone}: ${why}; ` +
      'run it on one (the volume is attached to it and read or written directly), or use --via export for volumes up to 1 TB');
  }
}

/** The device of an attached volume never appeared. */
export class DeviceNotFoundError extends BackupError {
  constructor(path: string, waitedMs: number) {
    super('SCW_DEVICE_NOT_FOUND', `${path} did not appear within ${Math.round(waitedMs / 1000)} s of the attach: the distribution's udev rules ` +
      '(60-persistent-storage) make that link for Scaleway SBS volumes; check `ls -l /dev/disk/by-id` and `lsblk --scsi` on this Instance');
  }
}

/** This Instance, checked to be in `zone` (a volume attaches only to a server of its zone). */
export async function thisInstance(zone: string, o: AttachOptions = {}): Promise<InstanceIdentity> {
  const me = await instanceMetadata(o);
  if (!isInstance(me)) throw new AttachUnavailableError(zone, `${me.notAnInstance}, so this is not a Scaleway Instance`);
  if (me.zone !== zone) throw new AttachUnavailableError(zone, `this Instance (${me.serverId}) is in ${me.zone}`);
  return me;
}

/** Attach SBS volume `volumeId` to `serverId` (hot-plug) and wait for its device; its path. */
export async function attachAndWait(
  clients: ScalewayClients, zone: string, serverId: string, volumeId: string, o: AttachOptions & { signal?: AbortSignal },
): Promise<string> {
  await callOrNotFound('server', serverId, zone, `attach volume ${volumeId} to this Instance (${serverId})`, () => clients.instance.attachServerVolume({
    zone, serverId, volumeId, volumeType: 'sbs_volume',
  }));
  const path = devicePath(volumeId, o.deviceDir ?? (o.env ?? process.env).SCW_BACKUP_DEVICE_DIR);
  const limit = o.deviceWaitMs ?? 60_000;
  const started = Date.now();
  for (let delay = 20; ; delay = Math.min(1000, delay * 2)) {
    if (await access(path).then(() => true, () => false)) return path;
    if (Date.now() - started >= limit) throw new DeviceNotFoundError(path, Date.now() - started);
    await abortableSleep(delay, o.signal);
  }
}

/**
 * Detach a volume from `serverId` and wait until Block Storage sees it free (`available`, no
 * reference); a volume already detached or gone is fine. Without the flow's signal: it is cleanup.
 */
export async function detachAndWait(clients: ScalewayClients, zone: string, serverId: string, volumeId: string, timeouts?: FlowTimeouts): Promise<void> {
  const read = (): Promise<Blockv1.Volume> => callOrNotFound('volume', volumeId, zone, `read volume ${volumeId}`, () => clients.block.getVolume({ zone, volumeId }));
  const free = (v: Blockv1.Volume): boolean => v.references.length === 0 && v.status === 'available';
  try {
    await callScaleway(`detach volume ${volumeId} from server ${serverId}`, () => clients.instance.detachServerVolume({ zone, serverId, volumeId }));
  } catch (err) {
    // Refused because it is not attached (an attach that never happened, or was refused): fine if it is free.
    if (!free(await read())) throw err;
  }
  await waitForStatus({
    resource: 'volume', id: volumeId, wanted: 'detached', fetch: read,
    status: (v) => (free(v) ? 'detached' : v.status), done: ['detached'], failed: ['error', 'locked'],
  }, phaseWait(timeouts, 'cleanup'));
}

/** Delete a volume this flow created (waited out of a transient state first). */
export async function removeVolume(clients: ScalewayClients, zone: string, volumeId: string, timeouts?: FlowTimeouts): Promise<void> {
  await settle('volume', volumeId, zone, () => clients.block.getVolume({ zone, volumeId }), (v) => v.status, Blockv1.VOLUME_TRANSIENT_STATUSES, timeouts);
  await callScaleway(`delete volume ${volumeId}`, () => clients.block.deleteVolume({ zone, volumeId }));
}

