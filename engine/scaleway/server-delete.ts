/**
 * Delete a server the way Scaleway requires, with its local volumes: a server is deleted only once
 * stopped (DELETE of a running one is refused), and DELETE keeps its local volumes (the Terraform
 * provider's instance server delete powers the server off, DELETEs it, then deletes its root volume
 * itself: internal/services/instance/server.go). The `terminate` action would delete local volumes
 * with the server, but only from a running server; a restored server is created stopped, so it is
 * powered off if needed, deleted, and its `l_ssd` (and `scratch`) volumes deleted after it. Its SBS
 * volumes are detached by the delete and left to the caller (the restore's own list of volumes).
 */
import { Instancev1 } from '@scaleway/sdk-instance';
import { callOrNotFound } from './common';
import type { ScalewayClients } from './config';
import { isScalewayNotFound } from './errors';
import { callScaleway, phaseWait, waitForStatus, type FlowTimeouts } from './wait';

const LOCAL = new Set(['l_ssd', 'scratch']);

/** Delete `serverId` and its local volumes; what was removed, as `server <id>`, `local volume <id>`. A server already gone removes nothing. */
export async function deleteServerAndLocalVolumes(clients: ScalewayClients, zone: string, serverId: string, timeouts?: FlowTimeouts): Promise<string[]> {
  const { instance } = clients;
  const read = async (): Promise<Instancev1.Server | undefined> => (await callOrNotFound('server', serverId, zone, `read server ${serverId}`, () => instance.getServer({ zone, serverId }))).server;
  let server: Instancev1.Server | undefined;
  try {
    server = await read();
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return [];
    throw err;
  }
  if (!server) return [];
  const local = Object.values(server.volumes).filter((v) => LOCAL.has(v.volumeType)).map((v) => v.id);
  const wait = (wanted: string[]): Promise<Instancev1.Server | undefined> => waitForStatus({
    resource: 'server', id: serverId, wanted: wanted.join(' or '), fetch: read, status: (s) => s?.state ?? 'missing',
    pending: Instancev1.SERVER_TRANSIENT_STATUSES, done: [], failed: ['locked'],
  }, phaseWait(timeouts, 'server'));
  // Out of `starting`/`stopping` first; then stopped (`stopped in place` still holds its slot: poweroff too).
  server = await wait(['a steady state']);
  if (server && server.state !== 'stopped') {
    await callScaleway(`power off server ${serverId}`, () => instance.serverAction({ zone, serverId, action: 'poweroff' }));
    await waitForStatus({
      resource: 'server', id: serverId, wanted: 'stopped', fetch: read, status: (s) => s?.state ?? 'missing', done: ['stopped'], failed: ['locked', 'missing'],
    }, phaseWait(timeouts, 'server'));
  }
  await callScaleway(`delete server ${serverId}`, () => instance.deleteServer({ zone, serverId }));
  const removed = [`server ${serverId}`];
  for (const volumeId of local) {
    try {
      await callScaleway(`delete local volume ${volumeId}`, () => instance.deleteVolume({ zone, volumeId }));
      removed.push(`local volume ${volumeId}`);
    } catch (err) {
      if (!isScalewayNotFound(err)) throw err; // already gone with its server
    }
  }
  return removed;
}
