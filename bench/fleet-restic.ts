import { createCipheriv, createHash, scrypt, type Cipher } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CCtx, CParameter, compressBound } from 'zstd-napi/binding';
import { FleetResticError, IV_SIZE, OVERHEAD, R_MASK, seal, type MasterKey } from './restic-crypto';

export { FleetResticError, poly1305Aes, seal, type MasterKey } from './restic-crypto';

/**
 * A restic repository (format version 2) written straight into restic's on-disk format, so a
 * benchmark can measure how restic's commands scale with the size of a store without backing up
 * terabytes. The index lists `blobs` data blobs in packs that do not exist; the snapshots point at
 * trees that do not exist. Good for commands that read only keys, config, index and snapshots
 * (`snapshots`, `forget --dry-run`, `list`, `cat`, a `backup` that finds no parent); `check`
 * fails (packs missing) and anything that walks trees fails.
 *
 * Format: restic's doc/design.rst (restic v0.14.0, the restic Debian ships), sections cited below
 * as "design: <section>". Constants that the design document leaves open are taken from restic
 * v0.14.0's source and cited by file.
 *
 * Everything is derived from `seed`: master key, salt, repository id, blob and pack ids, sizes,
 * snapshot times and even the IVs, so one seed gives the same bytes (and storage ids) every time.
 * Deterministic IVs are unique within one repository (one keystream), which is all a synthetic
 * benchmark store needs; never put real data in it.
 */

export interface ResticSyntheticOptions {
  /** Number of data blobs listed in the index (packs need not exist). */
  blobs: number;
  /** Number of snapshot files. */
  snapshots: number;
  /** Everything is derived deterministically from it (a safe integer). */
  seed: number;
  password: string;
  /**
   * Blobs per index file; a file is closed at the first pack boundary at or past it. Default
   * 50,000: restic's `indexMaxBlobs` (internal/repository/index.go; v0.14.0 allows 3× that when
   * compressing, current restic does not).
   */
  blobsPerIndex?: number;
  /** scrypt cost N written into the key file (a power of two). Default 2^15: cheap to open. */
  scryptN?: number;
  /** Called after each index file is written. */
  onProgress?: (p: { blobsWritten: number; blobs: number; indexFiles: number }) => void;
}

export interface ResticSyntheticResult {
  seconds: number;
  indexFiles: number;
  /** Bytes of all files written (key, config, index, snapshots). */
  bytes: number;
}


// design: Repository Layout; v0.14.0 internal/backend/layout_default.go also makes data/00..ff.
const DIRS = ['keys', 'index', 'snapshots', 'data', 'locks'] as const;

/** restic's test polynomial (internal/repository/testing.go, checked in doc/test_irreducibility.gap); restic refuses a reducible one. */
const CHUNKER_POLYNOMIAL = '3da3358b4dc173';

// design: Backups and Deduplication — blobs of 512 KiB to 8 MiB, 1 MiB on average.
const MIN_BLOB = 512 * 1024;
const MAX_BLOB = 8 * 1024 * 1024;
/** v0.14.0 internal/repository/repository.go DefaultPackSize: a pack is full at 16 MiB. */
const PACK_SIZE = 16 * 1024 * 1024;
/** design: Keys, Encryption and MAC; v0.14.0 internal/crypto/kdf.go saltLength. */
const SALT_SIZE = 64;
/** design: Unpacked Data Format — encoding version 2 = zstd-compressed JSON. */
const ENCODING_ZSTD = 2;

const DEFAULT_BLOBS_PER_INDEX = 50_000;
const DEFAULT_SCRYPT_N = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;

/** Snapshots spread over 2025 (UTC); a fixed year keeps the store a function of the seed. */
const YEAR_START_MS = Date.UTC(2025, 0, 1);
const YEAR_MS = 365 * 24 * 3600 * 1000;

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A seeded byte stream: the AES-256-CTR keystream under SHA-256(domain, seed). Native AES runs at
 * GB/s, so 10M ids cost nothing; separate domains keep (say) the blob ids independent of the
 * number of snapshots.
 */
class SeededStream {
  private static readonly ZEROS = Buffer.alloc(1 << 20);
  private readonly ctr: Cipher;
  private buf = Buffer.alloc(0);
  private pos = 0;

  constructor(seed: number, domain: string) {
    const key = createHash('sha256').update(`scw-backup bench/fleet-restic ${domain} ${seed}`).digest();
    this.ctr = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.buf = this.ctr.update(n <= SeededStream.ZEROS.length ? SeededStream.ZEROS : Buffer.alloc(n));
    this.pos = 0;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** 32 bytes as the lowercase hex restic uses for ids (internal/restic/id.go). */
  id(): string {
    this.need(32);
    const s = this.buf.toString('hex', this.pos, this.pos + 32);
    this.pos += 32;
    return s;
  }

  /** 32 bytes written as 64 hex digits into `out` at `at`, without a string in between. */
  idInto(out: Buffer, at: number): void {
    this.need(32);
    const b = this.buf;
    for (let i = 0; i < 32; i++) {
      const v = b[this.pos + i];
      out[at + 2 * i] = HEX[v >> 4];
      out[at + 2 * i + 1] = HEX[v & 15];
    }
    this.pos += 32;
  }

  /** Uniform in [0, 1). */
  unit(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v / 2 ** 32;
  }

  /** A non-zero 16-byte IV. */
  iv(): Buffer {
    for (;;) {
      const iv = this.bytes(IV_SIZE);
      if (iv.some((b) => b !== 0)) return iv;
    }
  }
}

/**
 * ASCII JSON written straight into one reused, growing buffer: building an index file out of
 * strings spent most of its time collecting their garbage.
 */
class AsciiWriter {
  buf = Buffer.allocUnsafe(1 << 20);
  len = 0;

  reset(): void {
    this.len = 0;
  }

  /** Make room for `n` more bytes. */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  /** A constant (pre-encoded) piece. */
  raw(piece: Buffer): void {
    this.room(piece.length);
    piece.copy(this.buf, this.len);
    this.len += piece.length;
  }

  /** A whole number ≥ 0 in decimal. */
  uint(n: number): void {
    this.room(16);
    let digits = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
    for (let i = digits - 1, v = n; i >= 0; i--, v = Math.floor(v / 10)) this.buf[this.len + i] = 48 + (v % 10);
    this.len += digits;
  }

  id(rng: SeededStream): void {
    this.room(64);
    rng.idInto(this.buf, this.len);
    this.len += 64;
  }

  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Writes the repository's files and counts their bytes. */
class RepoWriter {
  bytes = 0;
  private readonly cctx = new CCtx();
  private scratch = Buffer.allocUnsafe(0);

  constructor(
    private readonly dir: string,
    private readonly key: MasterKey,
    private readonly ivs: SeededStream,
  ) {
    // Level 1: restic decompresses whatever level; the build should be quick.
    this.cctx.setParameter(CParameter.compressionLevel, 1);
  }

  async write(rel: string, data: Uint8Array): Promise<void> {
    // restic's local backend leaves its files read-only (internal/backend/local/local.go setFileReadonly).
    await writeFile(path.join(this.dir, rel), data, { flag: 'wx', mode: 0o400 });
    this.bytes += data.length;
  }

  /** design: Unpacked Data Format — version byte 2, then a zstd frame of the JSON. */
  private compress(raw: Uint8Array): Buffer {
    const bound = compressBound(raw.length) + 1;
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
    this.scratch[0] = ENCODING_ZSTD;
    const n = this.cctx.compress2(this.scratch.subarray(1), raw);
    return this.scratch.subarray(0, n + 1);
  }

  /** An index/snapshot file: named by the SHA-256 of its encrypted bytes (design: Repository Format). */
  async writeUnpacked(folder: 'index' | 'snapshots', json: Uint8Array): Promise<string> {
    const file = seal(this.key, this.ivs.iv(), this.compress(json));
    const id = createHash('sha256').update(file).digest('hex');
    await this.write(path.join(folder, id), file);
    return id;
  }

  /** design: Repository Format — `config` is encrypted, never compressed (v0.14.0 LoadUnpacked skips decompression for it). */
  async writeConfig(json: string): Promise<void> {
    await this.write('config', seal(this.key, this.ivs.iv(), Buffer.from(json, 'utf8')));
  }
}

function checkOptions(dir: string, o: ResticSyntheticOptions): void {
  const bad = (what: string): never => {
    throw new FleetResticError('FLEET_RESTIC_BAD_OPTION', `buildResticStore(${JSON.stringify(dir)}): ${what}`);
  };
  if (!Number.isSafeInteger(o.blobs) || o.blobs < 0) bad(`blobs must be a whole number ≥ 0, got ${o.blobs}`);
  if (!Number.isSafeInteger(o.snapshots) || o.snapshots < 0) bad(`snapshots must be a whole number ≥ 0, got ${o.snapshots}`);
  if (!Number.isSafeInteger(o.seed)) bad(`seed must be a safe integer, got ${o.seed}`);
  if (typeof o.password !== 'string' || o.password.length === 0) bad('password must be a non-empty string');
  const per = o.blobsPerIndex ?? DEFAULT_BLOBS_PER_INDEX;
  if (!Number.isSafeInteger(per) || per < 1) bad(`blobsPerIndex must be a whole number ≥ 1, got ${per}`);
  const n = o.scryptN ?? DEFAULT_SCRYPT_N;
  // v0.14.0 checks N with simple-scrypt's Params.Check: > 1 and even; scrypt itself needs a power of two.
  if (!Number.isSafeInteger(n) || n < 2 || (n & (n - 1)) !== 0) bad(`scryptN must be a power of two ≥ 2, got ${n}`);
}

async function makeLayout(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readdir(dir);
  if (existing.length > 0) {
    throw new FleetResticError('FLEET_RESTIC_NOT_EMPTY', `buildResticStore: ${dir} is not empty (${existing.length} entries); give a new or empty folder`);
  }
  for (const d of DIRS) await mkdir(path.join(dir, d), { mode: 0o700 });
  for (let i = 0; i < 256; i++) await mkdir(path.join(dir, 'data', i.toString(16).padStart(2, '0')), { mode: 0o700 });
}

function scryptAsync(password: string, salt: Buffer, n: number): Promise<Buffer> {
  // 128·N·r bytes of work memory; Node's default cap (32 MiB) is exactly 2^15·8·128, and it wants headroom.
  const maxmem = 128 * n * SCRYPT_R * SCRYPT_P + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 64, { N: n, r: SCRYPT_R, p: SCRYPT_P, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * design: Keys, Encryption and MAC — scrypt(password, salt, N, r, p) gives 64 bytes: the AES-256
 * key, then k || r; they seal the master key JSON, stored base64 in `data` of a plain JSON key file.
 */
async function writeKeyFile(repo: RepoWriter, secrets: SeededStream, master: MasterKey, password: string, n: number): Promise<void> {
  const salt = secrets.bytes(SALT_SIZE);
  const user = await scryptAsync(password, salt, n);
  const userKey: MasterKey = { encrypt: user.subarray(0, 32), macK: user.subarray(32, 48), macR: user.subarray(48, 64) };
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
  // Field order of v0.14.0 internal/crypto/crypto.go Key / MACKey.
  const masterJson = JSON.stringify({ mac: { k: b64(master.macK), r: b64(master.macR) }, encrypt: b64(master.encrypt) });
  const data = seal(userKey, secrets.iv(), Buffer.from(masterJson, 'utf8'));
  // Field order of v0.14.0 internal/repository/key.go Key.
  const keyFile = Buffer.from(
    JSON.stringify({
      created: new Date(YEAR_START_MS).toISOString(),
      username: 'root',
      hostname: 'fleet-builder',
      kdf: 'scrypt',
      N: n,
      r: SCRYPT_R,
      p: SCRYPT_P,
      salt: salt.toString('base64'),
      data: data.toString('base64'),
    }),
    'utf8',
  );
  await repo.write(path.join('keys', createHash('sha256').update(keyFile).digest('hex')), keyFile);
}

/** A blob's plaintext length: 512 KiB plus an exponential tail with mean 512 KiB, at most 8 MiB (mean ≈ 1 MiB). */
function blobLength(rng: SeededStream): number {
  return Math.min(MAX_BLOB, MIN_BLOB + Math.floor(-Math.log(1 - rng.unit()) * MIN_BLOB));
}

/**
 * design: Indexing — packs, each with its blobs' id, type, offset and length (the encrypted
 * length); `uncompressed_length` because v0.14.0 compresses every blob of a v2 repository
 * (repository.go saveAndEncrypt). Offsets follow each other from 0 as in a real pack; a pack ends
 * at the first blob that takes it to 16 MiB. A file is compressed and sealed as soon as it is built,
 * and written while the next one is built: memory is two index files, whatever the blob count.
 */
async function writeIndex(repo: RepoWriter, seed: number, o: ResticSyntheticOptions): Promise<number> {
  const rng = new SeededStream(seed, 'index');
  const perIndex = o.blobsPerIndex ?? DEFAULT_BLOBS_PER_INDEX;
  const piece = (s: string): Buffer => Buffer.from(s, 'latin1');
  const [OPEN, CLOSE, PACK, PACK_BLOBS, PACK_END, BLOB, OFFSET, LENGTH, UNCOMPRESSED, BLOB_END, COMMA] = [
    '{"packs":[', ']}', '{"id":"', '","blobs":[', ']}', '{"id":"', '","type":"data","offset":', ',"length":', ',"uncompressed_length":', '}', ',',
  ].map(piece);
  const json = new AsciiWriter();
  let written = 0;
  let files = 0;
  // One file's write in flight while the next one is built.
  let writing: Promise<void> = Promise.resolve();
  while (written < o.blobs) {
    json.reset();
    json.raw(OPEN);
    let inFile = 0;
    while (inFile < perIndex && written < o.blobs) {
      if (inFile > 0) json.raw(COMMA);
      json.raw(PACK);
      json.id(rng);
      json.raw(PACK_BLOBS);
      let offset = 0;
      while (offset < PACK_SIZE && written < o.blobs) {
        const plain = blobLength(rng);
        // Compressed size: a guess at disk images, 25–100% of the plaintext.
        const length = Math.ceil(plain * (0.25 + 0.75 * rng.unit())) + OVERHEAD;
        if (offset > 0) json.raw(COMMA);
        json.raw(BLOB);
        json.id(rng);
        json.raw(OFFSET);
        json.uint(offset);
        json.raw(LENGTH);
        json.uint(length);
        json.raw(UNCOMPRESSED);
        json.uint(plain);
        json.raw(BLOB_END);
        offset += length;
        written++;
        inFile++;
      }
      json.raw(PACK_END);
    }
    json.raw(CLOSE);
    await writing;
    // writeUnpacked compresses and seals before its first await: the JSON buffer is free on return.
    const done = { blobsWritten: written, blobs: o.blobs, indexFiles: ++files };
    writing = repo.writeUnpacked('index', json.view()).then(() => o.onProgress?.(done));
  }
  await writing;
  return files;
}

/**
 * design: Snapshots — one file per snapshot. Host i % H (H ≈ snapshots / 10) backs up its own disk
 * image, so the store looks like a fleet; times are spread over 2025 in order, with jitter inside
 * each slot. Trees do not exist. The JSON keeps v0.14.0's field order (internal/restic/snapshot.go).
 */
async function writeSnapshots(repo: RepoWriter, seed: number, count: number): Promise<void> {
  const rng = new SeededStream(seed, 'snapshots');
  const hosts = Math.max(1, Math.round(count / 10));
  const slot = YEAR_MS / Math.max(1, count);
  for (let i = 0; i < count; i++) {
    const host = i % hosts;
    const time = new Date(YEAR_START_MS + Math.floor((i + rng.unit()) * slot));
    const snapshot = {
      time: time.toISOString(),
      tree: rng.id(),
      paths: [`/var/lib/images/disk-${host}.img`],
      hostname: `fleet-host-${host}`,
      username: 'root',
    };
    await repo.writeUnpacked('snapshots', Buffer.from(JSON.stringify(snapshot), 'utf8'));
  }
}

/**
 * Build a synthetic restic repository in `dir` (created if missing, must be empty). Open it with
 * `restic -r dir` and the password.
 */
export async function buildResticStore(dir: string, options: ResticSyntheticOptions): Promise<ResticSyntheticResult> {
  const started = process.hrtime.bigint();
  checkOptions(dir, options);
  await makeLayout(dir);

  const secrets = new SeededStream(options.seed, 'secrets');
  const master: MasterKey = { encrypt: secrets.bytes(32), macK: secrets.bytes(16), macR: secrets.bytes(16) };
  // restic stores r already clamped (internal/crypto/crypto.go NewRandomKey → maskKey).
  for (let i = 0; i < 16; i++) master.macR[i] &= R_MASK[i];
  const repoId = secrets.id();

  const repo = new RepoWriter(dir, master, new SeededStream(options.seed, 'iv'));
  await writeKeyFile(repo, secrets, master, options.password, options.scryptN ?? DEFAULT_SCRYPT_N);
  // design: Repository Format — the config JSON.
  await repo.writeConfig(JSON.stringify({ version: 2, id: repoId, chunker_polynomial: CHUNKER_POLYNOMIAL }));
  const indexFiles = await writeIndex(repo, options.seed, options);
  await writeSnapshots(repo, options.seed, options.snapshots);

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, indexFiles, bytes: repo.bytes };
}
