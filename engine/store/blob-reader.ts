import { COMPRESSION_NONE, COMPRESSION_ZSTD } from '../compress';
import { chunkId, idToHex } from '../crypto/chunk-id';
import { blobAad, open } from '../crypto/seal';
import { DamagedObjectError, NotFoundError } from '../errors';
import type { BlobEntry } from './blob';
import { packPath } from './pack';
import type { Repository } from './repository';

/** Largest gap between two wanted blobs that is read through rather than split into two requests. */
const MAX_GAP = 256 * 1024;

/** Decrypt, decompress and verify one blob read from `packId`. */
export function openBlob(repo: Repository, packId: string, blob: BlobEntry, sealed: Uint8Array): Buffer {
  const where = `${packPath(packId)} (blob ${idToHex(blob.id)} at ${blob.offset})`;
  const plain = open(repo.keys.encryption, blobAad(blob.type, blob.id), sealed);
  if (!plain || plain.length < 1) throw new DamagedObjectError(where, 'authentication failed (truncated or modified)');
  let data: Buffer;
  if (plain[0] === COMPRESSION_NONE) data = plain.subarray(1);
  else if (plain[0] === COMPRESSION_ZSTD) {
    try {
      data = repo.decompressor.decompress(plain.subarray(1), blob.rawLength);
    } catch (err) {
      throw new DamagedObjectError(where, `bad zstd payload: ${(err as Error).message}`, { cause: err });
    }
  } else throw new DamagedObjectError(where, `unknown compression byte ${plain[0]}`);
  if (data.length !== blob.rawLength) throw new DamagedObjectError(where, `holds ${data.length} bytes, the index says ${blob.rawLength}`);
  if (!chunkId(repo.keys.chunkId, data).equals(blob.id)) throw new DamagedObjectError(where, 'content does not match its id');
  return data;
}

/** Read one blob by id through the index. */
export async function readBlob(repo: Repository, id: Uint8Array): Promise<Buffer> {
  const e = repo.index.find(id);
  if (e < 0) throw new NotFoundError(`blob ${idToHex(id)} is not in the index of ${repo.location}`);
  const { pack, blob } = repo.index.entry(e);
  const sealed = await repo.backend.get(packPath(pack), { offset: blob.offset, length: blob.length });
  return openBlob(repo, pack, blob, sealed);
}

/**
 * Read several blobs of one pack with as few ranged reads as possible (neighbours are fetched in one
 * request), handing each verified plaintext to `visit` in pack order.
 */
export async function readPackBlobs(repo: Repository, packId: string, blobs: BlobEntry[], visit: (blob: BlobEntry, data: Buffer) => Promise<void> | void): Promise<void> {
  const sorted = [...blobs].sort((a, b) => a.offset - b.offset);
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    while (j < sorted.length && sorted[j].offset - (sorted[j - 1].offset + sorted[j - 1].length) <= MAX_GAP) j++;
    const start = sorted[i].offset;
    const end = sorted[j - 1].offset + sorted[j - 1].length;
    const bytes = await repo.backend.get(packPath(packId), { offset: start, length: end - start });
    for (let k = i; k < j; k++) {
      const b = sorted[k];
      await visit(b, openBlob(repo, packId, b, bytes.subarray(b.offset - start, b.offset - start + b.length)));
    }
    i = j;
  }
}
