import type { BlobEntry } from './blob';
import { BlobColumns } from './blob-columns';

/**
 * The repository's index in memory: where each blob is (~57 bytes per blob, FORMAT.md §7). A blob
 * stored twice (two writers) keeps its first location: any copy is valid.
 */
export class MemoryIndex extends BlobColumns {
  /** Entry number of a blob, or -1. */
  find(id: Uint8Array): number {
    return this.firstWithId(id);
  }

  has(id: Uint8Array): boolean {
    return this.firstWithId(id) >= 0;
  }

  /** Add a blob; a blob already known keeps its first location. */
  add(packNumber: number, blob: BlobEntry): void {
    if (this.firstWithId(blob.id) < 0) this.append(packNumber, blob);
  }

  entry(e: number): { pack: string; blob: BlobEntry } {
    return { pack: this.packId(this.packs[e]), blob: this.blobAt(e) };
  }
}
