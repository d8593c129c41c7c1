import { createHash } from 'node:crypto';
import type { Compressor } from '../compress';
import type { Sealer } from '../crypto/seal';
import type { ObjectDraft } from './backend';
import type { BlobEntry, BlobType } from './blob';
import { packTrailer } from './pack';

/** A pack written to its draft (the folder store's temporary file) as it fills, then named by its hash. */
export interface StreamedPack {
  id: string;
  blobs: BlobEntry[];
  /** The pack's length in bytes. */
  length: number;
}

/**
 * Builds a pack the way PackBuilder does (blobs, then the sealed header and its length: FORMAT.md §6),
 * but writes it out as it fills instead of holding it: blobs are gathered in a small staging buffer
 * (one write per `staging.length` bytes, not one per 64 KiB blob) and the pack's hash, its name, is
 * computed on the way. A backup then holds no pack in memory, whatever the pack size.
 */
export class StreamedPackBuilder {
  readonly blobs: BlobEntry[] = [];
  size = 0;
  private staged = 0;
  private readonly hash = createHash('sha256');

  constructor(readonly draft: ObjectDraft, private readonly staging: Buffer) {}

  get count(): number {
    return this.blobs.length;
  }

  /** Append a sealed blob; `sealed` is copied or written when the promise settles. */
  async add(type: BlobType, id: Uint8Array, sealed: Uint8Array, rawLength: number): Promise<BlobEntry> {
    const entry: BlobEntry = { type, id, offset: this.size, length: sealed.length, rawLength };
    await this.append(sealed);
    this.blobs.push(entry);
    this.size += sealed.length;
    return entry;
  }

  private async append(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    if (this.staged + bytes.length > this.staging.length) await this.flush();
    if (bytes.length >= this.staging.length) {
      await this.draft.write(bytes);
      return;
    }
    this.staging.set(bytes, this.staged);
    this.staged += bytes.length;
  }

  private async flush(): Promise<void> {
    if (this.staged === 0) return;
    const n = this.staged;
    this.staged = 0;
    await this.draft.write(this.staging.subarray(0, n));
  }

  /** Write the header and the length; the pack is then complete in its draft, to be committed as packs/<id>. */
  async finish(sealer: Sealer, compressor: Compressor): Promise<StreamedPack> {
    const [sealedHeader, tail] = packTrailer(this.blobs, sealer, compressor);
    await this.append(sealedHeader);
    await this.append(tail);
    await this.flush();
    return { id: this.hash.digest('hex'), blobs: this.blobs, length: this.size + sealedHeader.length + tail.length };
  }
}
