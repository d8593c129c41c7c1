import { COMPRESSION_NONE, COMPRESSION_ZSTD } from '../compress';
import { idToHex } from '../crypto/chunk-id';
import { AAD, blobAad } from '../crypto/seal';
import { encodeIndex, type IndexedPack } from './index-file';
import type { ObjectDraft } from './backend';
import type { BlobEntry, BlobType } from './blob';
import { PackBuilder, packPath } from './pack';
import { StreamedPackBuilder } from './pack-stream';
import { sealedBound } from '../pipeline/chunk-ops';
import type { Repository } from './repository';

const NONE = Uint8Array.of(COMPRESSION_NONE);
const ZSTD = Uint8Array.of(COMPRESSION_ZSTD);
/** Streamed packs are written in pieces of this size (one write per ~16 blobs of 64 KiB). */
const STAGING_BYTES = 1 << 20;

export interface BlobWriterOptions {
  /** Packs uploading at once while the next one fills (memory: packSize each). */
  packsInFlight?: number;
  /** Index files list at most this many packs (FORMAT.md §7). */
  packsPerIndex?: number;
  /** false: build packs in memory even when the backend can stream them (default: stream when it can). */
  stream?: boolean;
  /** Called with the byte count of each pack once it is stored. */
  onPackStored?: (bytes: number) => void;
  /**
   * Called before each index file is written; throwing stops it (its packs stay unindexed, for
   * prune to collect). Writers pass their lock's confirm(): an index file is a commit (FORMAT.md §9).
   */
  beforeIndex?: () => Promise<void>;
}

/**
 * Turns new blobs into packs and index files. On a backend with drafts (the folder store) a pack is
 * written to a temporary file as it fills and committed in the background; otherwise (S3) it is
 * built in a reused buffer and uploaded in the background (bounded: `packsInFlight`, memory packSize
 * each). An index file is written for every few stored packs, so a backup that dies
 * part-way leaves packs the next one finds and reuses.
 *
 * A caller that seals blobs elsewhere (worker threads) first `reserve()`s the id, so later lookups
 * see it as present, then hands the sealed bytes to `addSealed()`.
 */
export class BlobWriter {
  private readonly free: Buffer[] = [];
  /** The pack being filled; created at its first blob (a draft is opened asynchronously). */
  private pack: PackBuilder | StreamedPackBuilder | undefined;
  /** Reused by streamed packs: blobs are written out in pieces of this size. */
  private staging: Buffer | undefined;
  /** Ids reserved or in the pack being filled (hex), not yet in the repository index. */
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private stored: IndexedPack[] = [];
  private failure: unknown;
  /** Serialises pack mutations: callers may add from several async chains at once. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly packsInFlight: number;
  private readonly packsPerIndex: number;
  bytesStored = 0;
  packsWritten = 0;

  constructor(private readonly repo: Repository, private readonly options: BlobWriterOptions = {}) {
    this.packsInFlight = options.packsInFlight ?? 2;
    this.packsPerIndex = options.packsPerIndex ?? 8;
  }

  /**
   * A pack streamed to the backend's draft when it has one (the folder store: no pack is held in
   * memory), else built in a reused buffer of packSize and put whole (S3: one PUT per pack).
   */
  private async newPack(): Promise<PackBuilder | StreamedPackBuilder> {
    const backend = this.repo.backend;
    if (backend.draft && this.options.stream !== false) {
      this.staging ??= Buffer.allocUnsafe(STAGING_BYTES);
      return new StreamedPackBuilder(await backend.draft('a new pack'), this.staging);
    }
    // A pack passes packSize by at most one blob before it is closed; the header usually fits in the
    // slack too (PackBuilder falls back to a copy when it does not).
    const c = this.repo.config.chunker;
    const slack = sealedBound(c.kind === 'fixed' ? c.size : c.max) + 64 * 1024;
    return new PackBuilder(this.free.pop() ?? Buffer.allocUnsafe(this.repo.config.packSize + slack));
  }

  has(id: Uint8Array): boolean {
    return this.repo.index.has(id) || this.pending.has(idToHex(id));
  }

  /** Before has() is asked about these ids: bring in those that large index tables hold (FORMAT.md §7.1). */
  learn(ids: readonly Uint8Array[]): Promise<void> {
    return this.repo.ensureIndexed(ids);
  }

  /** Mark an id as being stored by this writer (its sealed blob follows through addSealed). */
  reserve(id: Uint8Array): void {
    this.pending.add(idToHex(id));
  }

  /** Seal and store a blob unless known; returns the sealed bytes added (0 when it was already there). */
  async add(type: BlobType, id: Uint8Array, plaintext: Uint8Array): Promise<number> {
    this.throwIfFailed();
    if (this.has(id)) return 0;
    const packed = this.repo.compressor.compress(plaintext);
    const sealed = this.repo.keys.sealer.seal(blobAad(type, id), packed ? [ZSTD, packed] : [NONE, plaintext]);
    this.reserve(id);
    await this.addSealed(type, id, sealed, plaintext.length);
    return sealed.length;
  }

  /** Append a sealed blob (copied: `sealed` may be reused by the caller afterwards). */
  addSealed(type: BlobType, id: Uint8Array, sealed: Uint8Array, rawLength: number): Promise<void> {
    return this.exclusive(async () => {
      this.throwIfFailed();
      this.pack ??= await this.newPack();
      await this.pack.add(type, Buffer.from(id), sealed, rawLength);
      this.bytesStored += sealed.length;
      if (this.pack.size >= this.repo.config.packSize) await this.finishPack();
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {
      // The caller of this operation gets its error; the queue just moves on to the next one.
    });
    return run;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async finishPack(): Promise<void> {
    const pack = this.pack;
    if (!pack || pack.count === 0) return;
    this.pack = undefined;
    const { id, blobs, length, save } = await this.seal(pack);
    const packNumber = this.repo.index.packNumber(id);
    for (const b of blobs) {
      this.repo.index.add(packNumber, b);
      this.pending.delete(idToHex(b.id));
    }
    while (this.inFlight.size >= this.packsInFlight) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const upload = save()
      .then(async () => {
        this.packsWritten++;
        this.options.onPackStored?.(length);
        this.stored.push({ id, blobs });
        if (this.stored.length >= this.packsPerIndex) await this.writeIndex();
      })
      .catch((err: unknown) => {
        // Kept and rethrown by the next add()/flush(): the backup fails with the first error.
        this.failure ??= err;
      });
    const tracked: Promise<void> = upload.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Complete a pack: its name, blobs and length, and how to store it under that name. */
  private async seal(pack: PackBuilder | StreamedPackBuilder): Promise<{ id: string; blobs: BlobEntry[]; length: number; save: () => Promise<void> }> {
    const { sealer } = this.repo.keys;
    if (pack instanceof PackBuilder) {
      const finished = pack.finish(sealer, this.repo.compressor);
      const save = async (): Promise<void> => {
        await this.repo.backend.put(packPath(finished.id), finished.data);
        this.free.push(pack.buffer);
      };
      return { id: finished.id, blobs: finished.blobs, length: finished.data.length, save };
    }
    const { draft } = pack;
    const finished = await pack.finish(sealer, this.repo.compressor).catch(async (err: unknown) => {
      await discardAfter(draft, err);
      throw err;
    });
    const save = async (): Promise<void> => {
      await draft.commit(packPath(finished.id)).catch((err: unknown) => discardAfter(draft, err).then(() => Promise.reject(err)));
      await draft.discard();
    };
    return { ...finished, save };
  }

  private async writeIndex(): Promise<void> {
    if (this.stored.length === 0) return;
    await this.options.beforeIndex?.();
    const packs = this.stored;
    this.stored = [];
    await this.repo.saveObject('index', AAD.index, encodeIndex(packs));
  }

  /** Store the last pack, wait for every upload, write the remaining index. */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      this.throwIfFailed();
      await this.finishPack();
      await Promise.all(this.inFlight);
      this.throwIfFailed();
      await this.writeIndex();
    });
  }

  /**
   * After a failure elsewhere: let uploads settle and index the packs that made it, so the next
   * backup reuses them. Errors here are secondary; the caller rethrows the first one.
   */
  async abort(): Promise<void> {
    // The queue first: an add still queued may start one more upload, which the wait below sees.
    await this.queue;
    await Promise.all(this.inFlight);
    const pack = this.pack;
    this.pack = undefined;
    if (pack instanceof StreamedPackBuilder) await pack.draft.discard();
    await this.writeIndex();
  }
}

/** Drop a draft after `err` stopped it; `err` is the one to report. */
async function discardAfter(draft: ObjectDraft, err: unknown): Promise<void> {
  await draft.discard().catch(() => {
    // Secondary to `err`; prune removes temporary files an interrupted write left behind.
  });
}
