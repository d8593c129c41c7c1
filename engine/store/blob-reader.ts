import { COMPRESSION_NONE, COMPRESSION_ZSTD, type Decompressor } from '../compress';
import type { SubKeys } from '../crypto/subkeys';
import { chunkId, idToHex } from '../crypto/chunk-id';
import { blobAad } from '../crypto/seal';
import { DamagedObjectError, NotFoundError } from '../errors';
import type { BlobEntry } from './blob';
import { packPath } from './pack';
import type { Repository } from './repository';

/** Largest gap between two wanted blobs that is read through rather than split into two requests. */
const MAX_GAP = 256 * 1024;
/** Largest single ranged read: bounds restore memory (reads in flight × this) whatever the pack size. */
export const MAX_RANGE = 4 * 1024 * 1024;

/** What opening a blob needs: the repository, or a worker holding the same keys. */
export interface BlobOpener {
  keys: Pick<SubKeys, 'sealer' | 'chunkId'>;
  decompressor: Decompressor;
}

/**
 * Decrypt, decompress and verify one blob read from `packId`. With `scratch` (at least rawLength
 * bytes) the plaintext of a compressed blob is written there instead of a fresh buffer.
 */
export function openBlob(repo: BlobOpener, packId: string, blob: BlobEntry, sealed: Uint8Array, scratch?: Buffer): Buffer {
  const where = `${packPath(packId)} (blob ${idToHex(blob.id)} at ${blob.offset})`;
  const plain = repo.keys.sealer.open(blobAad(blob.type, blob.id), sealed);
  if (!plain || plain.length < 1) throw new DamagedObjectError(where, 'authentication failed (truncated or modified)');
  let data: Buffer;
  if (plain[0] === COMPRESSION_NONE) data = plain.subarray(1);
  else if (plain[0] === COMPRESSION_ZSTD) {
    try {
      data = repo.decompressor.decompress(plain.subarray(1), blob.rawLength, scratch);
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
  await repo.ensureIndexed([id]);
  const e = repo.index.find(id);
  if (e < 0) throw new NotFoundError(`blob ${idToHex(id)} is not in the index of ${repo.location}`);
  const { pack, blob } = repo.index.entry(e);
  const sealed = await repo.backend.get(packPath(pack), { offset: blob.offset, length: blob.length });
  return openBlob(repo, pack, blob, sealed);
}

/** A ranged read of a pack covering several wanted blobs (neighbours fetched in one request). */
export interface PackRange {
  /** Offset of `bytes` in the pack. */
  start: number;
  bytes: Uint8Array;
  blobs: BlobEntry[];
}

/**
 * Fetch the wanted blobs of one pack with as few ranged reads as possible, in pack order. With
 * `into` (MAX_RANGE bytes) each range may be read into it: the caller is done with one range before
 * it asks for the next.
 */
export async function* fetchPackRanges(repo: Repository, packId: string, blobs: BlobEntry[], into?: Uint8Array): AsyncGenerator<PackRange> {
  const sorted = [...blobs].sort((a, b) => a.offset - b.offset);
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    const start = sorted[i].offset;
    while (j < sorted.length && sorted[j].offset - (sorted[j - 1].offset + sorted[j - 1].length) <= MAX_GAP && sorted[j].offset + sorted[j].length - start <= MAX_RANGE) j++;
    const end = sorted[j - 1].offset + sorted[j - 1].length;
    yield { start, bytes: await repo.backend.get(packPath(packId), { offset: start, length: end - start, into }), blobs: sorted.slice(i, j) };
    i = j;
  }
}

/** Read several blobs of one pack, handing each verified plaintext to `visit` in pack order. */
export async function readPackBlobs(repo: Repository, packId: string, blobs: BlobEntry[], visit: (blob: BlobEntry, data: Buffer) => Promise<void> | void): Promise<void> {
  for await (const range of fetchPackRanges(repo, packId, blobs)) {
    for (const b of range.blobs) {
      await visit(b, openBlob(repo, packId, b, range.bytes.subarray(b.offset - range.start, b.offset - range.start + b.length)));
    }
  }
}
