import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from '../schema';
import { BackupError, DamagedObjectError, InvalidInputError } from '../errors';

/** FORMAT.md §2. New stores are version 2; version 1 stores stay readable and writable. */
export const FORMAT_NAME = 'scw-backup-store';
export const FORMAT_VERSION = 2;
export const SUPPORTED_VERSIONS = [1, 2] as const;
export type FormatVersion = (typeof SUPPORTED_VERSIONS)[number];
/** Index tables (FORMAT.md §7.1): the compacted, sorted index that readers must read. */
export const INDEX_TABLES = 'index-tables';
/**
 * Incompatible features this code understands (FORMAT.md §2): a reader refuses a store whose config
 * lists one it does not know. Later additions to the format come as features, not a new version.
 */
export const KNOWN_FEATURES: readonly string[] = [INDEX_TABLES];
const MAX_CHUNK = 8 << 20;

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** How the store cuts disks (FORMAT.md §2, §5). Plain types: the package's declarations expose no zod. */
export type ChunkerParams = { kind: 'fixed'; size: number } | { kind: 'fastcdc'; min: number; avg: number; max: number };

interface CommonConfig {
  format: typeof FORMAT_NAME;
  id: string;
  created: string;
  chunker: ChunkerParams;
  packSize: number;
}

/** The store's config (FORMAT.md §2): version 1, or version 2 with its features and MAC. */
export type RepositoryConfig = (CommonConfig & { version: 1 }) | (CommonConfig & { version: 2; features: string[]; mac: string });

const chunkerSchema: z.ZodType<ChunkerParams> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), size: z.number().int().safe().min(4096).max(MAX_CHUNK).refine(isPow2, 'must be a power of two') }),
  z.object({
    kind: z.literal('fastcdc'),
    min: z.number().int().safe().min(64),
    avg: z.number().int().safe().refine(isPow2, 'must be a power of two'),
    max: z.number().int().safe().max(MAX_CHUNK),
  }),
]).refine((c) => c.kind !== 'fastcdc' || (c.min <= c.avg && c.avg <= c.max), 'needs min <= avg <= max');


const commonFields = {
  format: z.literal(FORMAT_NAME),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  created: z.string(),
  chunker: chunkerSchema,
  packSize: z.number().int().safe().min(1 << 20).max(1 << 30),
};
const configSchema: z.ZodType<RepositoryConfig> = z.discriminatedUnion('version', [
  z.object({ ...commonFields, version: z.literal(1) }),
  z.object({
    ...commonFields,
    version: z.literal(2),
    features: z.array(z.string()),
    /** HMAC-SHA256 of the other fields under the config key (configMac). */
    mac: z.string().regex(/^[0-9a-f]{64}$/),
  }),
]);


export class UnsupportedConfigError extends BackupError {
  constructor(location: string, what: string) {
    super('UNSUPPORTED_CONFIG', `${location}/config: ${what}`);
  }
}

/** Fixed 64 KiB chunks: the default for disk images (see bench/RESULTS.md for fixed vs FastCDC). */
export const DEFAULT_CHUNKER: ChunkerParams = { kind: 'fixed', size: 64 * 1024 };
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

/**
 * A new config. A version 2 config is made without its `mac`, which needs the config key, itself
 * derived from the master key and the id: the caller seals it with `authenticateConfig`.
 */
export function newConfig(chunker: ChunkerParams = DEFAULT_CHUNKER, packSize = DEFAULT_PACK_SIZE, version: FormatVersion = FORMAT_VERSION): RepositoryConfig {
  const common = { format: FORMAT_NAME, id: randomBytes(32).toString('hex'), created: new Date().toISOString(), chunker, packSize } as const;
  const config = version === 1 ? { ...common, version } : { ...common, version, features: [INDEX_TABLES], mac: '0'.repeat(64) };
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) throw new InvalidInputError('repository parameters', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * FORMAT.md §2: the bytes the MAC covers, every field but `mac` in a fixed order, so that the same
 * config always gives the same bytes whatever the order its file lists them in.
 */
function macInput(c: Extract<RepositoryConfig, { version: 2 }>): Buffer {
  const chunker = c.chunker.kind === 'fixed' ? { kind: c.chunker.kind, size: c.chunker.size }
    : { kind: c.chunker.kind, min: c.chunker.min, avg: c.chunker.avg, max: c.chunker.max };
  return Buffer.from(JSON.stringify({
    format: c.format, version: c.version, id: c.id, created: c.created, chunker, packSize: c.packSize, features: c.features,
  }), 'utf8');
}

function configMac(c: Extract<RepositoryConfig, { version: 2 }>, key: Uint8Array): Buffer {
  return createHmac('sha256', key).update(macInput(c)).digest();
}

/** The config with its MAC (version 2; a version 1 config is returned as it is). */
export function authenticateConfig(c: RepositoryConfig, key: Uint8Array | undefined): RepositoryConfig {
  if (c.version === 1) return c;
  if (!key) throw new Error('a version 2 config needs the config key');
  return { ...c, mac: configMac(c, key).toString('hex') };
}

/**
 * Refuse a version 2 config whose MAC does not match: someone with access to the store changed it
 * (a chunker that multiplies the chunks, a pack size...) since `init`. Version 1 configs carry no MAC.
 */
export function verifyConfig(c: RepositoryConfig, key: Uint8Array | undefined, location: string): void {
  if (c.version === 1) return;
  if (!key) throw new Error('a version 2 config needs the config key');
  const expected = configMac(c, key);
  if (!timingSafeEqual(expected, Buffer.from(c.mac, 'hex'))) {
    throw new DamagedObjectError(`${location}/config`, 'its authentication code does not match its contents: the config was changed after "init" ' +
      '(by whoever can write to the store), so the store is not used; restore the original config from a copy of the store');
  }
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
  if (!SUPPORTED_VERSIONS.some((v) => v === head.data.version)) {
    throw new UnsupportedConfigError(location, `format version ${JSON.stringify(head.data.version)} is not supported by this scw-backup (it reads versions ${SUPPORTED_VERSIONS.join(' and ')}); upgrade scw-backup`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    throw new UnsupportedConfigError(location, `invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  if (parsed.data.version === 2) {
    const unknown = parsed.data.features.filter((f) => !KNOWN_FEATURES.includes(f));
    if (unknown.length > 0) throw new UnsupportedConfigError(location, `the store uses features this scw-backup does not know (${unknown.join(', ')}); upgrade scw-backup`);
  }
  return parsed.data;
}

export function serializeConfig(config: RepositoryConfig): Buffer {
  return Buffer.from(JSON.stringify(config, null, 2) + '\n', 'utf8');
}
