import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRepository, initRepository, openRepository } from '../../../engine';
import { chunkId } from '../../../engine/crypto/chunk-id';
import { BLOB_DATA } from '../../../engine/store/blob';
import { readBlob } from '../../../engine/store/blob-reader';
import { BlobWriter } from '../../../engine/store/blob-writer';
import { FsBackend } from '../../../engine/store/backends/fs';
import type { Backend, ObjectDraft } from '../../../engine/store/backend';
import { parsePackHeader } from '../../../engine/store/pack';
import type { Repository } from '../../../engine/store/repository';
import { PASS, TEST_INIT, prng, tempDir } from '../../helpers';

/** Blobs of varied sizes, some larger than the 1 MiB staging buffer once sealed (incompressible). */
function blobs(seed: number, count: number): Buffer[] {
  const rnd = prng(seed);
  return Array.from({ length: count }, (_, i) => rnd(i % 7 === 3 ? 1_200_000 + i : 1000 + ((i * 7919) % 90_000)));
}

async function packFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of await readdir(join(root, 'packs'))) for (const f of await readdir(join(root, 'packs', dir))) out.push(join(root, 'packs', dir, f));
  return out;
}

async function writeAll(repo: Repository, data: Buffer[], options: { stream?: boolean } = {}): Promise<Uint8Array[]> {
  const writer = new BlobWriter(repo, options);
  const ids: Uint8Array[] = [];
  for (const d of data) {
    const id = chunkId(repo.keys.chunkId, d);
    ids.push(id);
    await writer.add(BLOB_DATA, id, d);
  }
  await writer.flush();
  return ids;
}

describe('packs streamed to the folder store (no pack held in memory)', () => {
  test('each pack is named by the SHA-256 of its bytes, its header lists the blobs where they lie, and every blob reads back', async () => {
    const dir = await tempDir();
    try {
      await initRepository(dir.path, PASS, { ...TEST_INIT, packSize: 1 << 20 });
      const repo = await openRepository(dir.path, PASS);
      const data = blobs(11, 40);
      const ids = await writeAll(repo, data);
      const files = await packFiles(dir.path);
      expect(files.length).toBeGreaterThan(5);
      let listed = 0;
      for (const file of files) {
        const bytes = await readFile(file);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.slice(-64));
        const entries = parsePackHeader(bytes, file, repo.keys.sealer, repo.decompressor);
        let offset = 0;
        for (const e of entries) {
          expect(e.offset).toBe(offset);
          offset += e.length;
        }
        listed += entries.length;
      }
      expect(listed).toBe(data.length);
      const reopened = await openRepository(dir.path, PASS);
      await reopened.loadIndex();
      for (let i = 0; i < data.length; i++) expect((await readBlob(reopened, ids[i])).equals(data[i])).toBe(true);
      expect((await checkRepository(reopened, { readData: true })).errors).toEqual([]);
      expect(await readdir(join(dir.path, '.tmp'))).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  });

  test('the same blobs built in memory (stream: false) give packs of the same sizes and the same blobs', async () => {
    const dirs = [await tempDir(), await tempDir()];
    try {
      const sizes: number[][] = [];
      for (const [i, d] of dirs.entries()) {
        await initRepository(d.path, PASS, { ...TEST_INIT, packSize: 1 << 20 });
        await writeAll(await openRepository(d.path, PASS), blobs(12, 30), { stream: i === 0 });
        sizes.push(await Promise.all((await packFiles(d.path)).map(async (f) => (await readFile(f)).length)).then((s) => s.sort((a, b) => a - b)));
      }
      expect(sizes[0]).toEqual(sizes[1]);
    } finally {
      for (const d of dirs) await d.cleanup();
    }
  });

  test('a write that fails part-way fails the add with that error; abort() drops the half-written pack and indexes the stored ones', async () => {
    const dir = await tempDir();
    try {
      await initRepository(dir.path, PASS, { ...TEST_INIT, packSize: 1 << 20 });
      const fs = await FsBackend.open(dir.path);
      let written = 0;
      const failing: Backend = Object.assign(Object.create(fs) as FsBackend, {
        draft: async (name?: string): Promise<ObjectDraft> => {
          const inner = await fs.draft(name);
          return {
            ...inner,
            write: async (bytes: Uint8Array) => {
              if (name === 'a new pack') written += bytes.length;
              if (name === 'a new pack' && written > 2_600_000) throw new Error('disk went away');
              await inner.write(bytes);
            },
          };
        },
      });
      const repo = await openRepository(failing, PASS);
      const writer = new BlobWriter(repo);
      let failure: unknown;
      for (const d of blobs(13, 40)) {
        failure = await writer.add(BLOB_DATA, chunkId(repo.keys.chunkId, d), d).then(() => undefined, (e: unknown) => e);
        if (failure) break;
      }
      expect((failure as Error).message).toBe('disk went away');
      await writer.abort();
      expect(await readdir(join(dir.path, '.tmp'))).toEqual([]);
      const stored = await packFiles(dir.path);
      expect(stored.length).toBeGreaterThanOrEqual(1); // packs completed before the failure
      const after = await openRepository(dir.path, PASS);
      expect((await checkRepository(after, { readData: true })).errors).toEqual([]);
      await after.loadIndex();
      for (const file of stored) {
        for (const e of parsePackHeader(await readFile(file), file, after.keys.sealer, after.decompressor)) expect(after.index.has(e.id)).toBe(true);
      }
    } finally {
      await dir.cleanup();
    }
  });
});
