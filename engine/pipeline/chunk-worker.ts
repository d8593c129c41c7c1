import { parentPort, workerData } from 'node:worker_threads';
import { Compressor, Decompressor } from '../compress';
import { chunkIds } from '../crypto/chunk-id';
import { Sealer } from '../crypto/seal';
import { DamagedObjectError } from '../errors';
import { collectGarbage } from '../gc';
import { ChunkRestorer, sealRanges } from './chunk-ops';
import type { BatchMemory } from './batch';
import type { WorkerRequest, WorkerSetup } from './worker-pool';
import { slowYoungGenerationGrowth } from '../young-generation';

/** Worker thread: hashes and seals batches in shared memory, answering each request by its job id. */
const setup = workerData as WorkerSetup;
// This worker's start put the process-wide flag back to V8's default: set it again.
if (setup.slowYoungGeneration) slowYoungGenerationGrowth();
const compressor = new Compressor(setup.level);
const sealer = new Sealer(new Uint8Array(setup.encryptionKey), setup.version);
const idKey = new Uint8Array(setup.chunkIdKey);
const opener = { keys: { sealer, chunkId: idKey }, decompressor: new Decompressor() };
/** Created at the first restore request: a backup's workers never need its run buffers. */
let restorer: ChunkRestorer | undefined;

interface Views {
  data: Buffer;
  starts: Uint32Array;
  lengths: Uint32Array;
  ids: Uint8Array;
  selStarts: Uint32Array;
  selLengths: Uint32Array;
  selIds: Uint8Array;
  out: Buffer;
  outLengths: Uint32Array;
}
const batches = new Map<number, Views>();

/**
 * Node 20's Cipher.update() and final() return fresh buffers (there is no way to encrypt into ours,
 * or to decrypt into ours). V8 frees them only at a garbage collection, and counts them as external
 * memory, which starts one only after ~64 MiB have piled up: two workers sealing a first backup held
 * ~60 MiB of dead cipher output, and two restoring held ~30 MiB each. A young-generation collection
 * after every ~2 MiB sealed or opened keeps it to that; it costs well under a millisecond on a
 * worker's small heap (bench: a backup's peak RSS 305 → 245 MiB, a restore's 208 → 157 MiB, same time).
 */
const CIPHER_BYTES_BETWEEN_COLLECTIONS = 2 << 20;
// Without a `gc` function (engine/gc.ts), no collections: memory as before this measure, never a failing seal.

let cipherBytesSinceCollection = 0;

function cipherOutput(bytes: number): void {
  cipherBytesSinceCollection += bytes;
  if (collectGarbage && cipherBytesSinceCollection >= CIPHER_BYTES_BETWEEN_COLLECTIONS) {
    cipherBytesSinceCollection = 0;
    collectGarbage({ type: 'minor' });
  }
}

function views(m: BatchMemory): Views {
  return {
    data: Buffer.from(m.bytes, m.dataOffset, m.capacity), starts: new Uint32Array(m.starts), lengths: new Uint32Array(m.lengths), ids: new Uint8Array(m.ids),
    selStarts: new Uint32Array(m.selStarts), selLengths: new Uint32Array(m.selLengths), selIds: new Uint8Array(m.selIds),
    out: Buffer.from(m.bytes, m.outOffset, m.outCapacity), outLengths: new Uint32Array(m.outLengths),
  };
}

/** Answer a request: its value, or its error (a DamagedObjectError is rebuilt as one by the pool). */
function reply(job: number, work: () => number | Promise<number>): Promise<void> {
  return (async () => work())().then(
    (value) => parentPort?.postMessage({ job, value }),
    (err: unknown) => {
      const damaged = err instanceof DamagedObjectError ? { object: err.object, detail: err.detail } : undefined;
      parentPort?.postMessage({ job, error: err instanceof Error ? err.message : String(err), damaged });
    },
  );
}

parentPort?.on('message', (req: WorkerRequest) => {
  if (req.op === 'restore' || req.op === 'drain') {
    // The restorer runs its requests one after the other, in order (they wait on the disk).
    restorer ??= new ChunkRestorer(opener);
    const r = restorer;
    void reply(req.job, async () => {
      if (req.op === 'drain') {
        await r.drain();
        return 0;
      }
      const written = await r.restore(req.packId, req.target, req.data, req.blobs);
      cipherOutput(req.data.byteLength);
      return written;
    });
    return;
  }
  void reply(req.job, () => {
    if (req.op === 'register') {
      batches.set(req.batch, views(req.memory));
      return 0;
    }
    const b = batches.get(req.batch);
    if (!b) throw new Error(`batch ${req.batch} was never registered`);
    if (req.op === 'hash') {
      chunkIds(idKey, b.data, b.starts, b.lengths, req.count, b.ids);
      return 0;
    }
    const n = sealRanges(sealer, compressor, req.type, b.data, b.selStarts, b.selLengths, b.selIds, req.count, b.out, b.outLengths);
    cipherOutput(n);
    return n;
  });
});
