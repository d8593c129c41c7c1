import { COMPRESSION_NONE, COMPRESSION_ZSTD } from '../compress';
import { idToHex } from '../crypto/chunk-id';
import { AAD, blobAad, seal } from '../crypto/seal';
import type { BlobType } from './blob';
import { encodeIndex, type IndexedPack } from './index-file';
import { PackBuilder, packPath } from './pack';
import type { Repository } from './repository';

const NONE = Uint8Array.of(COMPRESSION_NONE);
const ZSTD = Uint8Array.of(COMPRESSION_ZSTD);

export interface BlobWriterOptions {
  /** Packs uploading at once while the next one fills (memory: packSize each). */
  packsInFlight?: number;
  /** Index files list at most this many packs (FORMAT.md §7). */
  packsPerIndex?: number;
  /** Called with the byte count of each pack once it is stored. */
  onPackStored?: (bytes: number) => void;
}

/**
 * Turns new blobs into packs and index files. Blobs the repository already has are skipped. Packs
 * upload in the background (bounded); an index file is written for every few stored packs, so a
 * backup that dies part-way leaves packs the next one finds and reuses.
 */
export class BlobWriter {
  private pack = new PackBuilder();
  /** Ids in the pack being filled (hex), not yet in the repository index. */
  private pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private stored: IndexedPack[] = [];
  private failure: unknown;
  private readonly packsInFlight: number;
  private readonly packsPerIndex: number;
  bytesStored = 0;
  packsWritten = 0;

  constructor(private readonly repo: Repository, private readonly options: BlobWriterOptions = {}) {
    this.packsInFlight = options.packsInFlight ?? 2;
    this.packsPerIndex = options.packsPerIndex ?? 8;
  }

  has(id: Uint8Array): boolean {
    return this.repo.index.has(id) || this.pending.has(idToHex(id));
  }

  /** Store a blob unless known; returns the sealed bytes added (0 when it was already there). */
  async add(type: BlobType, id: Uint8Array, plaintext: Uint8Array): Promise<number> {
    this.throwIfFailed();
    if (this.has(id)) return 0;
    const packed = this.repo.compressor.compress(plaintext);
    const aad = blobAad(type, id);
    const sealed = packed ? seal(this.repo.keys.encryption, aad, [ZSTD, packed]) : seal(this.repo.keys.encryption, aad, [NONE, plaintext]);
    this.pack.add(type, Buffer.from(id), sealed, plaintext.length);
    this.pending.add(idToHex(id));
    this.bytesStored += sealed.length;
    if (this.pack.size >= this.repo.config.packSize) await this.finishPack();
    return sealed.length;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async finishPack(): Promise<void> {
    if (this.pack.count === 0) return;
    const finished = this.pack.finish(this.repo.keys.encryption, this.repo.compressor);
    const packNumber = this.repo.index.packNumber(finished.id);
    for (const b of finished.blobs) this.repo.index.add(packNumber, b);
    this.pack = new PackBuilder();
    this.pending = new Set();
    while (this.inFlight.size >= this.packsInFlight) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const upload = this.repo.backend
      .put(packPath(finished.id), finished.data)
      .then(async () => {
        this.packsWritten++;
        this.options.onPackStored?.(finished.data.length);
        this.stored.push({ id: finished.id, blobs: finished.blobs });
        if (this.stored.length >= this.packsPerIndex) await this.writeIndex();
      })
      .catch((err: unknown) => {
        // Kept and rethrown by the next add()/flush(): the backup fails with the first error.
        this.failure ??= err;
      });
    const tracked: Promise<void> = upload.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async writeIndex(): Promise<void> {
    if (this.stored.length === 0) return;
    const packs = this.stored;
    this.stored = [];
    await this.repo.saveObject('index', AAD.index, encodeIndex(packs));
  }

  /** Store the last pack, wait for every upload, write the remaining index. */
  async flush(): Promise<void> {
    this.throwIfFailed();
    await this.finishPack();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    await this.writeIndex();
  }

  /**
   * After a failure elsewhere: let uploads settle and index the packs that made it, so the next
   * backup reuses them. Errors here are secondary; the caller rethrows the first one.
   */
  async abort(): Promise<void> {
    await Promise.all(this.inFlight);
    await this.writeIndex();
  }
}
