import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BackupError, InvalidInputError } from '../errors';

/** FORMAT.md §2. */
export const FORMAT_NAME = 'scw-backup-store';
export const FORMAT_VERSION = 1;
const MAX_CHUNK = 8 << 20;

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

const chunkerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), size: z.number().int().min(4096).max(MAX_CHUNK).refine(isPow2, 'must be a power of two') }),
  z.object({
    kind: z.literal('fastcdc'),
    min: z.number().int().min(64),
    avg: z.number().int().refine(isPow2, 'must be a power of two'),
    max: z.number().int().max(MAX_CHUNK),
  }).refine((c) => c.min <= c.avg && c.avg <= c.max, 'needs min <= avg <= max'),
]);

export type ChunkerParams = z.infer<typeof chunkerSchema>;

const configSchema = z.object({
  format: z.literal(FORMAT_NAME),
  version: z.literal(FORMAT_VERSION),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  created: z.string(),
  chunker: chunkerSchema,
  packSize: z.number().int().min(1 << 20).max(1 << 30),
});

export type RepositoryConfig = z.infer<typeof configSchema>;

export class UnsupportedConfigError extends BackupError {
  constructor(location: string, what: string) {
    super('UNSUPPORTED_CONFIG', `${location}/config: ${what}`);
  }
}

/** Fixed 64 KiB chunks: the default for disk images (see bench/RESULTS.md for fixed vs FastCDC). */
export const DEFAULT_CHUNKER: ChunkerParams = { kind: 'fixed', size: 64 * 1024 };
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export function newConfig(chunker: ChunkerParams = DEFAULT_CHUNKER, packSize = DEFAULT_PACK_SIZE): RepositoryConfig {
  const config = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    id: randomBytes(32).toString('hex'),
    created: new Date().toISOString(),
    chunker,
    packSize,
  } as const;
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) throw new InvalidInputError('repository parameters', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

export function parseConfig(bytes: Uint8Array, location: string): RepositoryConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new UnsupportedConfigError(location, 'is not JSON; this is not an scw-backup repository or its config is damaged');
  }
  const head = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(json);
  if (!head.success || head.data.format !== FORMAT_NAME) {
    throw new UnsupportedConfigError(location, `format is ${JSON.stringify(head.success ? head.data.format : undefined)}, not "${FORMAT_NAME}"`);
  }
  if (head.data.version !== FORMAT_VERSION) {
    throw new UnsupportedConfigError(location, `format version ${JSON.stringify(head.data.version)} is not supported by this scw-backup (it reads version ${FORMAT_VERSION}); upgrade scw-backup`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    throw new UnsupportedConfigError(location, `invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function serializeConfig(config: RepositoryConfig): Buffer {
  return Buffer.from(JSON.stringify(config, null, 2) + '\n', 'utf8');
}
