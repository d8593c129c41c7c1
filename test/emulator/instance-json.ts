/**
 * Instance API v1 JSON shapes, following recorded real responses (terraform-provider-scaleway
 * cassettes, 2025-2026): objects wrapped in `{server}`, `{volume}`, `{snapshot}`, `{task}`; dates as
 * `…+00:00`; lists without `total_count` in the body but with an `X-Total-Count` header.
 */
import type { JsonObject } from './http';
import { instanceDate, isLocal, newId, type InstanceSnapshotRecord, type ServerRecord, type VolumeRecord } from './model';
import type { EmulatorState } from './state';

const ALLOWED_ACTIONS: Record<string, string[]> = {
  running: ['poweroff', 'terminate', 'reboot', 'stop_in_place', 'backup'],
  stopped: ['poweron', 'backup'],
  'stopped in place': ['poweron', 'backup'],
  starting: [],
  stopping: [],
  locked: [],
};

export function allowedActions(state: string): string[] {
  return ALLOWED_ACTIONS[state] ?? [];
}

/** A local (l_ssd or scratch) volume. */
export function localVolumeJson(state: EmulatorState, v: VolumeRecord): JsonObject {
  const server = v.attachment ? state.servers.get(v.attachment.serverId) : undefined;
  return {
    id: v.id,
    name: v.name,
    volume_type: v.type,
    export_uri: null,
    organization: v.organizationId,
    project: v.projectId,
    server: server ? { id: server.id, name: server.name } : null,
    size: v.size,
    state: v.status,
    creation_date: instanceDate(v.createdAt),
    modification_date: instanceDate(v.updatedAt),
    tags: [...v.tags],
    zone: v.zone,
  };
}

/** An entry of server.volumes: the full volume for l_ssd, a short form for SBS volumes. */
function serverVolumeJson(state: EmulatorState, server: ServerRecord, v: VolumeRecord): JsonObject {
  const boot = server.bootVolumeIds.has(v.id);
  if (isLocal(v)) return { boot, ...localVolumeJson(state, v) };
  return { boot, id: v.id, volume_type: 'sbs_volume', state: v.status === 'in_use' ? 'available' : v.status, zone: v.zone };
}

export function serverJson(state: EmulatorState, s: ServerRecord): JsonObject {
  const volumes: JsonObject = {};
  s.volumeIds.forEach((id, i) => {
    const v = state.volumes.get(id);
    if (v) volumes[String(i)] = serverVolumeJson(state, s, v);
  });
  const running = s.state === 'running' || s.state === 'stopped in place';
  return {
    id: s.id,
    name: s.name,
    arch: s.arch,
    commercial_type: s.commercialType,
    boot_type: 'local',
    organization: s.organizationId,
    project: s.projectId,
    hostname: s.name,
    image: s.image ? imageJson(s, s.image) : null,
    volumes,
    tags: [...s.tags],
    state: s.state,
    protected: false,
    state_detail: s.stateDetail,
    public_ip: null,
    public_ips: [],
    mac_address: s.macAddress,
    routed_ip_enabled: true,
    ipv6: null,
    extra_networks: [],
    dynamic_ip_required: false,
    enable_ipv6: false,
    private_ip: null,
    creation_date: instanceDate(s.createdAt),
    modification_date: instanceDate(s.updatedAt),
    bootscript: null,
    security_group: { ...s.securityGroup },
    location: running ? { zone_id: s.zone, platform_id: '14', cluster_id: '42', hypervisor_id: '404', node_id: '51' } : null,
    maintenances: [],
    allowed_actions: allowedActions(s.state),
    placement_group: null,
    private_nics: s.privateNics.map((n) => ({
      id: n.id,
      server_id: s.id,
      private_network_id: n.privateNetworkId,
      mac_address: n.macAddress,
      state: 'available',
      tags: [],
      creation_date: instanceDate(n.createdAt),
      modification_date: instanceDate(n.createdAt),
      zone: s.zone,
    })),
    zone: s.zone,
    filesystems: [],
    end_of_service: false,
    admin_password_encryption_ssh_key_id: null,
  };
}

function imageJson(s: ServerRecord, image: { id: string; name: string }): JsonObject {
  return {
    id: image.id,
    name: image.name,
    organization: s.organizationId,
    project: s.projectId,
    root_volume: null,
    extra_volumes: {},
    public: true,
    arch: s.arch,
    creation_date: instanceDate(s.createdAt),
    modification_date: instanceDate(s.createdAt),
    default_bootscript: null,
    from_server: '',
    state: 'available',
    tags: [],
    zone: s.zone,
  };
}

export function instanceSnapshotJson(s: InstanceSnapshotRecord): JsonObject {
  return {
    id: s.id,
    name: s.name,
    volume_type: s.volumeType,
    creation_date: instanceDate(s.createdAt),
    modification_date: instanceDate(s.updatedAt),
    organization: s.organizationId,
    project: s.projectId,
    size: s.size,
    state: s.state,
    base_volume: s.baseVolume ? { ...s.baseVolume } : null,
    tags: [...s.tags],
    zone: s.zone,
    error_details: s.errorDetails,
  };
}

/** A task as the Instance API returns for actions, snapshot creation and exports (status `pending`). */
export function taskJson(zone: string, description: string, hrefFrom: string, hrefResult: string): JsonObject {
  return {
    description,
    href_from: hrefFrom,
    href_result: hrefResult,
    id: newId(),
    progress: 0,
    started_at: instanceDate(new Date()),
    status: 'pending',
    terminated_at: null,
    zone,
  };
}
