/**
 * Block Storage API v1 JSON shapes, field for field as the real API answers (compared with
 * recorded responses of terraform-provider-scaleway's acceptance tests, 2025-2026).
 */
import type { JsonObject } from './http';
import { blockDate, PERF_IOPS, type BlockSnapshotRecord, type BlockVolumeType, type VolumeRecord } from './model';
import type { EmulatorState } from './state';

export function volumeJson(v: VolumeRecord): JsonObject {
  const type = v.type as BlockVolumeType;
  const references = v.attachment
    ? [
        {
          created_at: blockDate(v.attachment.createdAt),
          id: v.attachment.referenceId,
          product_resource_id: v.attachment.serverId,
          product_resource_type: 'instance_server',
          status: 'attached',
          type: 'exclusive',
        },
      ]
    : [];
  return {
    created_at: blockDate(v.createdAt),
    id: v.id,
    last_detached_at: blockDate(v.lastDetachedAt),
    name: v.name,
    parent_snapshot_id: v.parentSnapshotId,
    project_id: v.projectId,
    references,
    size: v.size,
    specs: { class: 'sbs', perf_iops: PERF_IOPS[type] },
    status: v.status,
    tags: [...v.tags],
    type,
    updated_at: blockDate(v.updatedAt),
    zone: v.zone,
  };
}

export function snapshotJson(state: EmulatorState, s: BlockSnapshotRecord): JsonObject {
  let parent: JsonObject | null = null;
  if (s.parentVolume) {
    // The parent's status is its current one while it exists.
    const live = state.volumes.get(s.parentVolume.id);
    parent = { id: s.parentVolume.id, name: s.parentVolume.name, status: live?.status ?? s.parentVolume.status, type: s.parentVolume.type };
  }
  return {
    class: 'sbs',
    created_at: blockDate(s.createdAt),
    id: s.id,
    name: s.name,
    parent_volume: parent,
    project_id: s.projectId,
    public: false,
    references: [],
    size: s.size,
    status: s.status,
    tags: [...s.tags],
    updated_at: blockDate(s.updatedAt),
    zone: s.zone,
  };
}
