/**
 * The group manifest of an Instance backup: a snapshot without a disk of its own (size 0, no map)
 * whose source says `kind: scaleway-instance`, `format: group`, and carries, as JSON strings, the
 * server's description and the member snapshots, one per volume (docs/FORMAT.md §8, docs/SCALEWAY.md).
 */
import { z } from '../schema';
import { DamagedObjectError, InvalidInputError } from '../errors';
import type { SnapshotSummary } from '../store/snapshot';

export const INSTANCE_KIND = 'scaleway-instance';
export const GROUP_FORMAT = 'group';

/** A volume of a server, in the server's description. */
export interface ServerVolume {
  index: number;
  volumeId: string;
  name: string;
  volumeType: string;
  size: number;
  boot: boolean;
}

/** The server's description a group carries (plain types: the package's declarations expose no zod). */
export interface ServerDescription {
  id: string;
  name: string;
  zone: string;
  projectId: string;
  commercialType: string;
  state: string;
  image?: { id: string; name: string };
  tags: string[];
  bootType: string;
  securityGroup?: { id: string; name: string };
  privateNetworkIds: string[];
  publicIps: string[];
  volumes: ServerVolume[];
}

/** One volume's snapshot in a group. */
export interface GroupMember {
  index: number;
  snapshotId: string;
  volumeId: string;
  name: string;
  volumeType: 'sbs_volume' | 'l_ssd';
  size: number;
  boot: boolean;
  perfIops?: number;
}

const volumeSchema = z.object({
  index: z.number().int().safe().nonnegative(),
  volumeId: z.string(),
  name: z.string(),
  volumeType: z.string(),
  size: z.number().finite().nonnegative(),
  boot: z.boolean(),
});

const serverSchema: z.ZodType<ServerDescription> = z.object({
  id: z.string(),
  name: z.string(),
  zone: z.string(),
  projectId: z.string(),
  commercialType: z.string(),
  state: z.string(),
  image: z.object({ id: z.string(), name: z.string() }).optional(),
  tags: z.array(z.string()),
  bootType: z.string(),
  securityGroup: z.object({ id: z.string(), name: z.string() }).optional(),
  privateNetworkIds: z.array(z.string()),
  publicIps: z.array(z.string()),
  volumes: z.array(volumeSchema),
});

const memberSchema: z.ZodType<GroupMember> = z.object({
  index: z.number().int().safe().nonnegative(),
  snapshotId: z.string().regex(/^[0-9a-f]{64}$/),
  volumeId: z.string(),
  name: z.string(),
  volumeType: z.enum(['sbs_volume', 'l_ssd']),
  size: z.number().finite().nonnegative(),
  boot: z.boolean(),
  perfIops: z.number().finite().optional(),
});


export function isInstanceGroup(s: SnapshotSummary): boolean {
  return s.source.kind === INSTANCE_KIND && s.source.format === GROUP_FORMAT;
}

/** The server and members of a group manifest; anything else is refused by name. */
export function readGroup(s: SnapshotSummary): { server: ServerDescription; members: GroupMember[] } {
  if (!isInstanceGroup(s)) {
    throw new InvalidInputError(`snapshot ${s.id.slice(0, 12)}`, `is not the group of an Instance backup (its source is ${s.source.location}); restore it as a volume or a file`);
  }
  const parse = <T>(field: string, schema: z.ZodType<T>): T => {
    const raw = s.source[field];
    let json: unknown;
    try {
      json = JSON.parse(typeof raw === 'string' ? raw : '');
    } catch (err) {
      throw new DamagedObjectError(`snapshots/${s.id}`, `group field ${field} is not JSON`, { cause: err });
    }
    const r = schema.safeParse(json);
    if (!r.success) throw new DamagedObjectError(`snapshots/${s.id}`, `group field ${field} is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return r.data;
  };
  const members = parse('members', z.array(memberSchema)).sort((a, b) => a.index - b.index);
  return { server: parse('server', serverSchema), members };
}
