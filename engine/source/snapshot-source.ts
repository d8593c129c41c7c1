import type { Lock } from '../store/locks';
import type { Repository } from '../store/repository';
import type { Snapshot } from '../store/snapshot';
import { readDiskMap } from '../store/snapshots';
import type { DiskSource, DiskSourceInfo, Extent } from './disk-source';
import { SnapshotReader } from './snapshot-reader';

/**
 * Decrypted chunks a SnapshotSource keeps: its readers (the QCOW2 stream of a restore or an upload)
 * read in order, so a few chunks beyond the current read and the prefetch window are enough.
 */
const SOURCE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * A stored snapshot seen as a disk: extents are its data chunks, reads go through a SnapshotReader
 * (chunks fetched grouped by pack, cached, fetched ahead of sequential reads). This is what the QCOW2
 * writer streams from on restore, and what any consumer of a DiskSource can read.
 */
export class SnapshotSource implements DiskSource {
  readonly info: DiskSourceInfo;
  private readonly reader: SnapshotReader;

  /** `lock`: the reader's lock, checked on every read (a reader whose lock lapsed stops). */
  constructor(private readonly repo: Repository, private readonly snapshot: Snapshot, options: { lock?: Lock } = {}) {
    this.info = { format: snapshot.source.format, location: `snapshot ${snapshot.id.slice(0, 12)} in ${repo.location}` };
    this.reader = new SnapshotReader(repo, snapshot, { lock: options.lock, cacheBytes: SOURCE_CACHE_BYTES });
  }

  get size(): number {
    return this.snapshot.size;
  }

  async *extents(): AsyncIterable<Extent> {
    let cur: Extent | undefined;
    for await (const page of readDiskMap(this.repo, this.snapshot)) {
      for (const e of page) {
        if (!e.id) continue;
        if (cur && cur.offset + cur.length === e.offset) cur.length += e.length;
        else {
          if (cur) yield cur;
          cur = { offset: e.offset, length: e.length };
        }
      }
    }
    if (cur) yield cur;
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    return this.reader.read(offset, into);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
