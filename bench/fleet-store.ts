/**
 * Synthetic fleet stores for the fleet-scale case (fleet.ts): a real store (init through the
 * engine, default KDF) whose index holds N blobs and whose snapshot list holds M snapshots, written
 * straight into the format (FORMAT.md §7.1 index table, §8 manifests, §8.2 catalog) instead of
 * backing up N × 64 KiB of data. Everything is derived from a seed; nothing else is faked:
 *
 * - The index is one index table, as `compact` leaves it: random 32-byte ids, each shard's rows
 *   generated and sorted in order, sealed by the engine's own TableWriter.
 * - The packs the entries name do not exist (no data was stored): `check` reports them missing, and
 *   no synthetic snapshot can be restored. The commands measured (a backup of a new image, listings,
 *   `latest`) never read another snapshot's data.
 * - Manifests are saved through saveSnapshot (so readers accept them) and carry the tag
 *   `synthetic=fleet-bench` and host names `fleet-host-*`; their map pages do not exist either.
 * - A catalog covers every manifest, as after a forget, prune or compact.
 *
 * Ids come from an AES-256-CTR keystream keyed by SHA-256 of the seed: fast (GB/s) and the same on
 * every run. The engine's sealing (its own random nonces) makes the stored bytes differ run to run.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { initRepository, type LocationOptions, type Repository } from '../engine';
import { BLOB_DATA } from '../engine/store/blob';
import { writeCatalog } from '../engine/store/catalog';
import { ENTRY_BYTES, shardBitsFor } from '../engine/store/index-table/format';
import { TableWriter } from '../engine/store/index-table/table-writer';
import type { SnapshotManifest, SnapshotSummary } from '../engine/store/snapshot';
import { saveSnapshot } from '../engine/store/snapshots';

export const SYNTHETIC_TAG = { synthetic: 'fleet-bench' };
/** Blobs per synthetic pack: 16 MiB packs of 64 KiB chunks. */
const BLOBS_PER_PACK = 256;
/** Snapshots per synthetic source (a disk backed up daily for ten days). */
const SNAPSHOTS_PER_SOURCE = 10;
/** Virtual size of each synthetic disk: 20 GiB, so 20 map pages per manifest. */
const DISK_BYTES = 20 * 2 ** 30;
const PAGE_BYTES = 2 ** 30;
/** Manifests saved at once. */
const SAVES_IN_FLIGHT = 16;

export interface FleetStoreSpec {
  blobs: number;
  snapshots: number;
  seed: number;
  passphrase: string;
}

export interface FleetStore {
  spec: FleetStoreSpec;
  /** One synthetic source's location (for "that source's latest"). */
  someSource: string;
  buildSeconds: number;
}

/** A seeded stream of bytes (AES-256-CTR of zeros). */
class Keystream {
  private readonly cipher;

  constructor(seed: number, purpose: string) {
    const key = createHash('sha256').update(`scw-backup fleet bench ${purpose} ${seed}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  bytes(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
}

/**
 * The rows of one shard, sorted by id: `count` ids whose top `bits` bits are `shard`. The first 8
 * bytes of each id are sorted as numbers (swap64 turns big-endian into what a BigUint64Array sorts
 * natively); an 8-byte prefix drawn twice is dropped (about one in 10^4 stores of 100M blobs).
 */
function shardRows(ks: Keystream, shard: number, bits: number, count: number, packs: number): Buffer {
  const prefixes = ks.bytes(count * 8);
  if (bits > 0) {
    for (let i = 0; i < count; i++) {
      const top = (shard << (16 - bits)) | (prefixes.readUInt16BE(i * 8) & ((1 << (16 - bits)) - 1));
      prefixes.writeUInt16BE(top, i * 8);
    }
  }
  prefixes.swap64();
  new BigUint64Array(prefixes.buffer, prefixes.byteOffset, count).sort();
  prefixes.swap64();
  const rest = ks.bytes(count * (24 + 8));
  const rows = Buffer.allocUnsafe(count * ENTRY_BYTES);
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (n > 0 && prefixes.compare(prefixes, (i - 1) * 8, i * 8, i * 8, i * 8 + 8) === 0) continue;
    const at = n * ENTRY_BYTES;
    rows[at] = BLOB_DATA;
    prefixes.copy(rows, at + 1, i * 8, i * 8 + 8);
    rest.copy(rows, at + 9, i * 32, i * 32 + 24);
    const r = rest.readUInt32LE(i * 32 + 24);
    const length = 16_384 + (rest.readUInt16LE(i * 32 + 28) % 49_152);
    rows.writeUInt32LE(r % packs, at + 33);
    rows.writeUInt32LE((i % BLOBS_PER_PACK) * 65_536, at + 37);
    rows.writeUInt32LE(length, at + 41);
    rows.writeUInt32LE(65_536, at + 45);
    n++;
  }
  return rows.subarray(0, n * ENTRY_BYTES);
}

async function writeIndex(repo: Repository, spec: FleetStoreSpec): Promise<void> {
  const ks = new Keystream(spec.seed, 'index');
  const bits = shardBitsFor(spec.blobs);
  const shards = 2 ** bits;
  const packs = Math.max(1, Math.ceil(spec.blobs / BLOBS_PER_PACK));
  const writer = new TableWriter(repo, bits);
  for (let s = 0; s < shards; s++) {
    const count = Math.floor(spec.blobs / shards) + (s < spec.blobs % shards ? 1 : 0);
    await writer.addShard(shardRows(ks, s, bits, count, packs));
  }
  const ids = ks.bytes(packs * 32);
  const packIds: string[] = [];
  for (let p = 0; p < packs; p++) packIds.push(ids.toString('hex', p * 32, (p + 1) * 32));
  await writer.finish(packIds);
}

function manifest(ks: Keystream, k: number, count: number): SnapshotManifest {
  const source = Math.floor(k / SNAPSHOTS_PER_SOURCE);
  const day = k % SNAPSHOTS_PER_SOURCE;
  // Sources spread over the year; each backed up on ten consecutive days.
  const time = new Date(Date.UTC(2026, 0, 1) + ((source * 37) % 355 + day) * 86_400_000 + (source % 86_400) * 1000);
  const ids = ks.bytes((DISK_BYTES / PAGE_BYTES) * 32);
  const map = Array.from({ length: DISK_BYTES / PAGE_BYTES }, (_, p) => ({ offset: p * PAGE_BYTES, length: PAGE_BYTES, id: ids.toString('hex', p * 32, (p + 1) * 32) }));
  const bytesNew = 2 ** 20 * (1 + (k % 97));
  return {
    version: 1,
    time: time.toISOString(),
    hostname: `fleet-host-${source % Math.max(1, Math.ceil(count / 100))}`,
    username: 'root',
    source: { format: 'raw', location: `/var/lib/images/disk-${source}.img` },
    tags: { ...SYNTHETIC_TAG },
    size: DISK_BYTES,
    chunker: { kind: 'fixed', size: 65_536 },
    map,
    stats: { bytesRead: DISK_BYTES / 4, bytesNew, bytesStored: Math.round(bytesNew * 0.6), chunks: DISK_BYTES / 4 / 65_536, newChunks: bytesNew / 65_536, holeBytes: (DISK_BYTES * 3) / 4, durationMs: 60_000 },
  };
}

async function writeSnapshots(repo: Repository, spec: FleetStoreSpec): Promise<void> {
  const ks = new Keystream(spec.seed, 'snapshots');
  const manifests = Array.from({ length: spec.snapshots }, (_, k) => manifest(ks, k, spec.snapshots));
  const summaries: SnapshotSummary[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let k = next++; k < manifests.length; k = next++) {
      const { map: _map, ...summary } = manifests[k];
      summaries.push({ id: await saveSnapshot(repo, manifests[k]), ...summary });
    }
  };
  await Promise.all(Array.from({ length: SAVES_IN_FLIGHT }, worker));
  // Each save added a catalog object of its own; one object replaces them all, as a forget, prune or
  // compact leaves it (FORMAT.md §8.2).
  const deltas: string[] = [];
  for await (const o of repo.backend.list('catalog')) deltas.push(o.path);
  await writeCatalog(repo, summaries, deltas);
}

/** Create the store at `location` (which must not exist) and fill it. */
export async function buildFleetStore(location: string, spec: FleetStoreSpec, locationOptions?: LocationOptions): Promise<FleetStore> {
  const started = process.hrtime.bigint();
  const repo = await initRepository(location, spec.passphrase, { location: locationOptions });
  await writeIndex(repo, spec);
  await writeSnapshots(repo, spec);
  return { spec, someSource: '/var/lib/images/disk-0.img', buildSeconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
