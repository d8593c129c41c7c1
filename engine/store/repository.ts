import { createHash, randomBytes } from 'node:crypto';
import { Compressor, Decompressor } from '../compress';
import { DEFAULT_KDF, WEAK_KDF_MEMORY_KIB, validateKdf } from '../crypto/kdf';
import { parseKeyFile, unwrapMasterKey, wrapMasterKey, type KeyFile } from '../crypto/key-file';
import { deriveSubKeys, type SubKeys } from '../crypto/subkeys';
import { AAD } from '../crypto/seal';
import { BackupError, InvalidInputError, NotFoundError, WrongPassphraseError } from '../errors';
import type { Backend } from './backend';
import type { BlobEntry } from './blob';
import { newConfig, parseConfig, serializeConfig, type ChunkerParams, type RepositoryConfig } from './config';
import { decodeIndex } from './index-file';
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

function checkKdf(kdf: KdfOptions, allowWeak: boolean | undefined): void {
  validateKdf(kdf.time, kdf.memoryKiB, kdf.parallelism);
  if (!allowWeak && kdf.memoryKiB < WEAK_KDF_MEMORY_KIB) {
    throw new InvalidInputError('kdf memory', `${kdf.memoryKiB} KiB is below the ${WEAK_KDF_MEMORY_KIB} KiB minimum; it would make the passphrase easy to guess`);
  }
}

/**
 * An opened repository: its config, its keys, and the in-memory index. Blob reading and writing,
 * snapshots and locks are built on top of this (blob-reader.ts, blob-writer.ts, snapshots.ts).
 */
export class Repository {
  readonly index = new MemoryIndex();
  private readonly loadedIndexFiles = new Set<string>();
  readonly compressor = new Compressor();
  readonly decompressor = new Decompressor();

  private constructor(
    readonly backend: Backend,
    readonly config: RepositoryConfig,
    private readonly masterKey: Uint8Array,
    readonly keys: SubKeys,
    /** The key file this session opened with. */
    readonly keyId: string,
  ) {}

  get location(): string {
    return this.backend.location;
  }

  static async init(backend: Backend, passphrase: string, options: InitOptions = {}): Promise<Repository> {
    if (passphrase.length === 0) throw new InvalidInputError('passphrase', 'is empty');
    const kdf = options.kdf ?? DEFAULT_KDF;
    checkKdf(kdf, options.allowWeakKdf);
    if (await backend.stat('config')) throw new RepositoryExistsError(backend.location);
    const config = newConfig(options.chunker, options.packSize);
    const masterKey = randomBytes(32);
    const keyFile = await wrapMasterKey(masterKey, passphrase, config.id, kdf);
    const keyId = await writeKeyFile(backend, keyFile);
    // The config goes last: a location with a config is a usable repository.
    await backend.put('config', serializeConfig(config));
    return new Repository(backend, config, masterKey, deriveSubKeys(masterKey, Buffer.from(config.id, 'hex')), keyId);
  }

  static async open(backend: Backend, passphrase: string): Promise<Repository> {
    const configBytes = await backend.get('config').catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`no repository at ${backend.location}: it has no config (run "scw-backup init" first)`);
      throw err;
    });
    const config = parseConfig(configBytes, backend.location);
    for await (const obj of backend.list('keys')) {
      const keyFile = parseKeyFile(await backend.get(obj.path));
      if (!keyFile) continue;
      const masterKey = await unwrapMasterKey(keyFile, passphrase, config.id);
      if (masterKey) {
        return new Repository(backend, config, masterKey, deriveSubKeys(masterKey, Buffer.from(config.id, 'hex')), obj.path.slice('keys/'.length));
      }
    }
    throw new WrongPassphraseError(backend.location);
  }

  /** Load index files not yet loaded (new ones may have appeared since: other writers). */
  async loadIndex(): Promise<void> {
    for await (const obj of this.backend.list('index')) {
      if (!this.loadedIndexFiles.has(obj.path)) await this.loadIndexFile(obj.path);
    }
  }

  /** Load one index file; a damaged one throws DamagedObjectError naming it, leaving the rest loaded. */
  async loadIndexFile(path: string): Promise<void> {
    const payload = openObject(this.keys.encryption, AAD.index, await this.backend.get(path), path, this.decompressor);
    // Decode fully before adding, so a file damaged half-way adds nothing.
    const entries: Array<[string, BlobEntry]> = [];
    // The ids are views into `payload`, alive until added (add() copies them into the index).
    decodeIndex(payload, path, (packId, blob) => entries.push([packId, blob]));
    for (const [packId, blob] of entries) this.index.add(this.index.packNumber(packId), blob);
    this.loadedIndexFiles.add(path);
  }

  /** Store a sealed object under `<dir>/<sha256>`; returns its id. */
  async saveObject(dir: string, aad: Uint8Array, payload: Uint8Array): Promise<string> {
    const sealed = sealObject(this.keys.encryption, aad, payload, this.compressor);
    const id = createHash('sha256').update(sealed).digest('hex');
    await this.backend.put(`${dir}/${id}`, sealed);
    if (dir === 'index') this.loadedIndexFiles.add(`${dir}/${id}`);
    return id;
  }

  async loadObject(path: string, aad: Uint8Array): Promise<Buffer> {
    return openObject(this.keys.encryption, aad, await this.backend.get(path), path, this.decompressor);
  }

  async addKey(passphrase: string, kdf: KdfOptions = DEFAULT_KDF, allowWeakKdf = false): Promise<string> {
    if (passphrase.length === 0) throw new InvalidInputError('new passphrase', 'is empty');
    checkKdf(kdf, allowWeakKdf);
    return writeKeyFile(this.backend, await wrapMasterKey(this.masterKey, passphrase, this.config.id, kdf));
  }

  async listKeys(): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    for await (const obj of this.backend.list('keys')) {
      const key = parseKeyFile(await this.backend.get(obj.path));
      if (!key) continue;
      const id = obj.path.slice('keys/'.length);
      out.push({ id, created: key.created, hostname: key.hostname, username: key.username, current: id === this.keyId });
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  async removeKey(idOrPrefix: string): Promise<string> {
    const keys = await this.listKeys();
    const matches = keys.filter((k) => k.id.startsWith(idOrPrefix));
    if (idOrPrefix.length < 4 || matches.length === 0) throw new NotFoundError(`no key ${JSON.stringify(idOrPrefix)} in ${this.location} (give at least 4 hex digits of an id from "key list")`);
    if (matches.length > 1) throw new InvalidInputError('key id', `${idOrPrefix} matches ${matches.length} keys; give more digits`);
    const key = matches[0];
    if (key.current) throw new InvalidInputError('key id', `${key.id} is the key this session opened the repository with; open with another passphrase to remove it`);
    if (keys.length === 1) throw new InvalidInputError('key id', `${key.id} is the only key; removing it would lock everyone out`);
    await this.backend.delete(`keys/${key.id}`);
    return key.id;
  }
}

async function writeKeyFile(backend: Backend, key: KeyFile): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(key, null, 2) + '\n', 'utf8');
  const id = createHash('sha256').update(bytes).digest('hex');
  await backend.put(`keys/${id}`, bytes);
  return id;
}
