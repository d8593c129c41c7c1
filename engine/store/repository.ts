import { createHash, randomBytes } from 'node:crypto';
import { Compressor, Decompressor } from '../compress';
import { DEFAULT_KDF, WEAK_KDF_MEMORY_KIB, validateKdf } from '../crypto/kdf';
import { isKeyFile, kdfCost, parseKeyFile, unwrapMasterKey, wrapMasterKey, type KeyFile } from '../crypto/key-file';
import { deriveSubKeys, type SubKeys } from '../crypto/subkeys';
import type { UnwrappedKeys } from '../crypto/unwrapped-keys';
import { BackupError, DamagedObjectError, InvalidInputError, NotFoundError, UsageError, WrongPassphraseError } from '../errors';
import type { Backend } from './backend';
import {
  INDEX_TABLES, UnsupportedConfigError, authenticateConfig, newConfig, parseConfig, serializeConfig, verifyConfig,
  type ChunkerParams, type FormatVersion, type RepositoryConfig,
} from './config';
import { withLock } from './lock-scope';
import { IndexLoader, type LoadIndexOptions } from './index-loader';
import { MemoryIndex } from './memory-index';
import { openObject, sealObject } from './sealed-object';

export interface KdfOptions {
  time: number;
  memoryKiB: number;
  parallelism: number;
}

export interface InitOptions {
  chunker?: ChunkerParams;
  packSize?: number;
  kdf?: KdfOptions;
  /** Accept KDF parameters below OWASP's minimum (tests only). */
  allowWeakKdf?: boolean;
  /** Format version of the new store (default 2; 1 only to test what older releases wrote). */
  formatVersion?: FormatVersion;
}

export interface OpenOptions {
  /** Told about key files that were skipped (damaged, or asking for an unreasonable KDF). */
  onWarning?: (message: string) => void;
  /** Index tables up to this many entries are read whole (default 2^20; tests lower it). */
  wholeTableEntries?: number;
  /** Master keys this process unwrapped before: a hit skips the KDF (crypto/unwrapped-keys.ts). */
  unwrapped?: UnwrappedKeys;
}

export class RepositoryExistsError extends BackupError {
  constructor(location: string) {
    super('REPOSITORY_EXISTS', `${location} already holds a repository (it has a config); choose an empty location`);
  }
}

export interface KeyInfo {
  id: string;
  created: string;
  hostname: string;
  username: string;
  current: boolean;
}

/**
 * The shortest passphrase a new key accepts: NIST SP 800-63B §5.1.1.2 asks at least 8 characters of a
 * memorized secret chosen by its user. The KDF slows guessing; it cannot save a one-letter passphrase.
 */
export const MIN_PASSPHRASE_LENGTH = 8;

function checkNewPassphrase(input: string, passphrase: string): void {
  const length = [...passphrase].length;
  if (length < MIN_PASSPHRASE_LENGTH) {
    throw new UsageError(input, `${length === 0 ? 'is empty' : `has ${length} character(s)`}; a new passphrase needs at least ${MIN_PASSPHRASE_LENGTH}`);
  }
}

function checkKdf(kdf: KdfOptions, allowWeak: boolean | undefined): void {
  validateKdf(kdf.time, kdf.memoryKiB, kdf.parallelism);
  if (!allowWeak && kdf.memoryKiB < WEAK_KDF_MEMORY_KIB) {
    throw new InvalidInputError('kdf memory', `${kdf.memoryKiB} KiB is below the ${WEAK_KDF_MEMORY_KIB} KiB minimum; it would make the passphrase easy to guess`);
  }
}

/** Objects named by the SHA-256 of their bytes that are read whole (FORMAT.md §1, §10). */
const CONTENT_ADDRESSED = /^(index|snapshots|index-tables|catalog|drills)\/([0-9a-f]{64})$/;

/**
 * An opened repository: its config, its keys, and the in-memory index. Blob reading and writing,
 * snapshots and locks are built on top of this (blob-reader.ts, blob-writer.ts, snapshots.ts).
 */
export class Repository {
  readonly index = new MemoryIndex();
  private readonly indexLoader: IndexLoader;
  readonly compressor = new Compressor();
  readonly decompressor = new Decompressor();

  private constructor(
    readonly backend: Backend,
    readonly config: RepositoryConfig,
    private readonly masterKey: Uint8Array,
    readonly keys: SubKeys,
    /** The key file this session opened with. */
    readonly keyId: string,
    wholeTableEntries?: number,
  ) {
    this.indexLoader = new IndexLoader(this, this.index, config.version === 2 && config.features.includes(INDEX_TABLES), wholeTableEntries);
  }

  get location(): string {
    return this.backend.location;
  }

  static async init(backend: Backend, passphrase: string, options: InitOptions = {}): Promise<Repository> {
    checkNewPassphrase('passphrase', passphrase);
    const kdf = options.kdf ?? DEFAULT_KDF;
    checkKdf(kdf, options.allowWeakKdf);
    if (await backend.stat('config')) throw new RepositoryExistsError(backend.location);
    // A store shares its folder or prefix with nothing: init into a source tree or another tool's
    // bucket prefix would mix our objects with files someone cares about.
    for await (const obj of backend.list('')) {
      throw new InvalidInputError(backend.location, `is not empty (it holds ${obj.path}, and maybe more): a store needs a new or empty folder or S3 prefix of its own`);
    }
    const draft = newConfig(options.chunker, options.packSize, options.formatVersion);
    const masterKey = randomBytes(32);
    const keys = deriveSubKeys(masterKey, Buffer.from(draft.id, 'hex'), draft.version);
    const config = authenticateConfig(draft, keys.config);
    const keyId = await writeKeyFile(backend, await wrapMasterKey(masterKey, passphrase, config.id, kdf, config.version));
    // The config goes last: a location with a config is a usable repository.
    await backend.put('config', serializeConfig(config));
    return new Repository(backend, config, masterKey, keys, keyId);
  }

  /**
   * Open with one of the store's passphrases. Key files are vetted before any KDF runs (parseKeyFile:
   * name, shape, bounded parameters) and tried cheapest first; an unusable one is skipped with a
   * warning naming it. Then, for a version 2 store, the config's MAC is checked with the key found.
   */
  static async open(backend: Backend, passphrase: string, options: OpenOptions = {}): Promise<Repository> {
    const configBytes = await backend.get('config').catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`no repository at ${backend.location}: it has no config (run "scw-backup init" first)`);
      throw err;
    });
    const config = parseConfig(configBytes, backend.location);
    const cache = options.unwrapped;
    const known = (id: string): Uint8Array | undefined => cache?.get(config.id, id, passphrase);
    // A key this process unwrapped before first (no KDF), then the cheapest.
    const candidates = (await readKeyFiles(backend, options.onWarning))
      .sort((a, b) => Number(!known(a.id)) - Number(!known(b.id)) || kdfCost(a.key) - kdfCost(b.key));
    for (const { id, key } of candidates) {
      const masterKey = known(id) ?? await unwrapMasterKey(key, passphrase, config.id);
      if (!masterKey) continue;
      if (key.version !== config.version) {
        throw new UnsupportedConfigError(backend.location, `declares format version ${config.version} but key file keys/${id.slice(0, 12)}… belongs to a ` +
          `version ${key.version} store: the config was replaced; restore the original config from a copy of the store`);
      }
      const keys = deriveSubKeys(masterKey, Buffer.from(config.id, 'hex'), config.version);
      verifyConfig(config, keys.config, backend.location);
      cache?.set(config.id, id, passphrase, masterKey);
      return new Repository(backend, config, masterKey, keys, id, options.wholeTableEntries);
    }
    throw new WrongPassphraseError(backend.location);
  }

  /**
   * Load index files and tables not yet loaded (new ones may have appeared since: other writers).
   * Large tables stay in the store unless `full` (index-loader.ts): then `ensureIndexed` brings in
   * the entries a command needs.
   */
  loadIndex(options: LoadIndexOptions = {}): Promise<void> {
    return this.indexLoader.load(options);
  }

  /** Load one index file; a damaged one throws DamagedObjectError naming it, leaving the rest loaded. */
  loadIndexFile(path: string): Promise<void> {
    return this.indexLoader.loadFile(path);
  }

  /** Have the in-memory index hold every id of `ids` the store has (looked up in large tables). */
  ensureIndexed(ids: readonly Uint8Array[]): Promise<void> {
    return this.indexLoader.ensure(ids);
  }

  /** Store a sealed object under `<dir>/<sha256>`; returns its id. */
  async saveObject(dir: string, aad: Uint8Array, payload: Uint8Array): Promise<string> {
    const sealed = sealObject(this.keys.sealer, aad, payload, this.compressor);
    const id = createHash('sha256').update(sealed).digest('hex');
    await this.backend.put(`${dir}/${id}`, sealed);
    if (dir === 'index') this.indexLoader.wrote(`${dir}/${id}`);
    return id;
  }

  /**
   * Read and open a sealed object. One named by its hash (an index file, a snapshot, a drill record) must have that
   * hash: an object whose bytes were swapped for another's of the same kind (an older snapshot over a
   * newer one) authenticates, but is refused here, by name (FORMAT.md §10).
   */
  async loadObject(path: string, aad: Uint8Array): Promise<Buffer> {
    const bytes = await this.backend.get(path);
    const named = CONTENT_ADDRESSED.exec(path);
    if (named && createHash('sha256').update(bytes).digest('hex') !== named[2]) {
      throw new DamagedObjectError(path, 'its contents do not match its name (the file was replaced by another object\'s bytes, or damaged)');
    }
    return openObject(this.keys.sealer, aad, bytes, path, this.decompressor);
  }

  /** Add a passphrase, under an exclusive lock (FORMAT.md §3): no key change runs beside another. */
  async addKey(passphrase: string, kdf: KdfOptions = DEFAULT_KDF, allowWeakKdf = false, options: OpenOptions = {}): Promise<string> {
    checkNewPassphrase('new passphrase', passphrase);
    checkKdf(kdf, allowWeakKdf);
    const keyFile = await wrapMasterKey(this.masterKey, passphrase, this.config.id, kdf, this.config.version);
    return withLock(this, { exclusive: true, operation: 'key add', warn: options.onWarning }, async (lock) => {
      await lock?.confirm();
      return writeKeyFile(this.backend, keyFile);
    });
  }

  /** The usable key files (damaged or hostile ones skipped, with a warning). */
  async listKeys(options: OpenOptions = {}): Promise<KeyInfo[]> {
    const keys = await readKeyFiles(this.backend, options.onWarning);
    return keys
      .map(({ id, key }) => ({ id, created: key.created, hostname: key.hostname, username: key.username, current: id === this.keyId }))
      .sort((a, b) => a.created.localeCompare(b.created));
  }

  /**
   * Remove a key file, under an exclusive lock, deciding from a listing made under that lock: of two
   * removals at once, one is refused (REPOSITORY_LOCKED) or sees the other's result, so the last
   * usable key can never go, nor the one this session opened with.
   */
  async removeKey(idOrPrefix: string, options: OpenOptions = {}): Promise<string> {
    if (!/^[0-9a-f]{4,64}$/.test(idOrPrefix)) throw new UsageError('key id', `${JSON.stringify(idOrPrefix)} is not a key id (at least 4 hex digits from "key list")`);
    return withLock(this, { exclusive: true, operation: 'key remove', warn: options.onWarning }, async (lock) => {
      // Unusable key files do not count (and were named when the store was opened).
      const keys = await this.listKeys();
      const matches = keys.filter((k) => k.id.startsWith(idOrPrefix));
      if (matches.length === 0) throw new NotFoundError(`no key ${JSON.stringify(idOrPrefix)} in ${this.location} (give at least 4 hex digits of an id from "key list")`);
      if (matches.length > 1) throw new InvalidInputError('key id', `${idOrPrefix} matches ${matches.length} keys; give more digits`);
      const key = matches[0];
      if (key.current) throw new InvalidInputError('key id', `${key.id} is the key this session opened the repository with; open with another passphrase to remove it`);
      if (keys.length === 1) throw new InvalidInputError('key id', `${key.id} is the only key; removing it would lock everyone out`);
      await lock?.confirm();
      await this.backend.delete(`keys/${key.id}`);
      return key.id;
    });
  }
}

/** The usable key files of a store; the others are named in a warning and left alone. */
async function readKeyFiles(backend: Backend, onWarning?: (message: string) => void): Promise<Array<{ id: string; key: KeyFile }>> {
  const out: Array<{ id: string; key: KeyFile }> = [];
  for await (const obj of backend.list('keys')) {
    const id = obj.path.slice('keys/'.length);
    let bytes: Uint8Array;
    try {
      bytes = await backend.get(obj.path);
    } catch (err) {
      // Removed between the listing and the read (a key remove).
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    const key = parseKeyFile(bytes, id);
    if (isKeyFile(key)) out.push({ id, key });
    else onWarning?.(`key file ${obj.path} was skipped: ${key.problem}`);
  }
  return out;
}

async function writeKeyFile(backend: Backend, key: KeyFile): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(key, null, 2) + '\n', 'utf8');
  const id = createHash('sha256').update(bytes).digest('hex');
  await backend.put(`keys/${id}`, bytes);
  return id;
}
