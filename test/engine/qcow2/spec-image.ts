/**
 * Builds QCOW2 images byte by byte from qemu's docs/interop/qcow2.txt ("the spec"), for tests that
 * need layouts qemu-img never writes (a v2 zero flag, shared clusters, odd compressed streams) and
 * that check our reader against qemu-img on them.
 *
 * Layout: cluster 0 the header, cluster 1 the refcount table, cluster 2 its only refcount block,
 * then the L1 table, then whatever the test allocates (L2 tables, data), in allocation order.
 */
const QCOW2_MAGIC = 0x514649fb;
/** Spec "Cluster mapping": bit 63 of L1/L2 entries, "refcount is exactly one". */
const COPIED = 1n << 63n;
/** Spec "Cluster mapping": bit 62 of an L2 entry, compressed cluster. */
const COMPRESSED = 1n << 62n;
/** Spec "Standard Cluster Descriptor": bit 0, reads as zeros. */
const ZERO = 1n;

export interface SpecImageOptions {
  version?: 2 | 3;
  /** cluster_bits, 9..21 (spec "Header", bytes 20-23); default 16. */
  clusterBits?: number;
  /** Virtual size in bytes as the header stores it (spec "Header", bytes 24-31). */
  size: bigint | number;
  /** Version 3 only: compression_type (spec "Additional fields", byte 104). */
  compression?: 'zlib' | 'zstd';
  /** l1_size (spec "Header", bytes 36-39); default: just enough for `size`. */
  l1Size?: number;
}

export class SpecImage {
  readonly clusterSize: number;
  readonly clusterBits: number;
  readonly version: 2 | 3;
  readonly l1Size: number;
  readonly l1Offset: number;
  private readonly clusters: Buffer[] = [];
  private readonly l2Tables = new Map<number, number>();

  constructor(private readonly o: SpecImageOptions) {
    this.version = o.version ?? 3;
    this.clusterBits = o.clusterBits ?? 16;
    this.clusterSize = 2 ** this.clusterBits;
    const l2Entries = this.clusterSize / 8;
    this.l1Size = o.l1Size ?? Number((BigInt(o.size) + BigInt(this.clusterSize * l2Entries) - 1n) / BigInt(this.clusterSize * l2Entries));
    this.alloc(3); // header, refcount table, refcount block
    this.l1Offset = this.alloc(Math.max(1, Math.ceil((this.l1Size * 8) / this.clusterSize)));
  }

  /** `n` new zeroed clusters at the end of the file; returns the host offset of the first. */
  alloc(n = 1): number {
    const at = this.clusters.length * this.clusterSize;
    for (let i = 0; i < n; i++) this.clusters.push(Buffer.alloc(this.clusterSize));
    return at;
  }

  /** Copy `bytes` into the file at `host` (inside allocated clusters). */
  write(host: number, bytes: Uint8Array): void {
    for (let done = 0; done < bytes.length;) {
      const c = Math.floor((host + done) / this.clusterSize);
      const at = (host + done) % this.clusterSize;
      const n = Math.min(bytes.length - done, this.clusterSize - at);
      this.clusters[c].set(bytes.subarray(done, done + n), at);
      done += n;
    }
  }

  /** The L2 table of L1 entry `index`, allocated on first use. */
  l2Table(index: number): number {
    let at = this.l2Tables.get(index);
    if (at === undefined) {
      at = this.alloc();
      this.l2Tables.set(index, at);
      this.writeU64(this.l1Offset + index * 8, BigInt(at) | COPIED);
    }
    return at;
  }

  /** Set the L2 entry of guest cluster `cluster` to `value` (spec "Cluster mapping"). */
  setEntry(cluster: number, value: bigint): void {
    const l2Entries = this.clusterSize / 8;
    const table = this.l2Table(Math.floor(cluster / l2Entries));
    this.writeU64(table + (cluster % l2Entries) * 8, value);
  }

  /** A standard cluster descriptor (spec "Standard Cluster Descriptor"), refcount one. */
  standard(host: number, options: { zero?: boolean } = {}): bigint {
    return BigInt(host) | (host !== 0 ? COPIED : 0n) | (options.zero ? ZERO : 0n);
  }

  /**
   * A compressed cluster descriptor (spec "Compressed Clusters Descriptor"): x = 62 - (cluster_bits
   * - 8) bits of host offset, then the number of 512-byte sectors after the one holding it.
   */
  compressed(host: number, length: number): bigint {
    const x = BigInt(62 - (this.clusterBits - 8));
    const sectors = BigInt(Math.floor((host + length - 1) / 512) - Math.floor(host / 512));
    return COMPRESSED | (sectors << x) | BigInt(host);
  }

  /** The image: header and refcounts filled in (every cluster of the file has refcount 1). */
  bytes(): Buffer {
    const cs = this.clusterSize;
    const h = this.clusters[0];
    h.writeUInt32BE(QCOW2_MAGIC, 0);
    h.writeUInt32BE(this.version, 4);
    h.writeUInt32BE(this.clusterBits, 20);
    h.writeBigUInt64BE(BigInt(this.o.size), 24);
    h.writeUInt32BE(this.l1Size, 36);
    h.writeBigUInt64BE(BigInt(this.l1Offset), 40);
    h.writeBigUInt64BE(BigInt(cs), 48); // refcount_table_offset: cluster 1
    h.writeUInt32BE(1, 56); // refcount_table_clusters
    if (this.version === 3) {
      const zstd = this.o.compression === 'zstd';
      h.writeBigUInt64BE(zstd ? 1n << 3n : 0n, 72); // incompatible bit 3: compression type
      h.writeUInt32BE(4, 96); // refcount_order: 16-bit refcounts
      h.writeUInt32BE(112, 100); // header_length: 104 + the compression type byte, padded to 8
      h[104] = zstd ? 1 : 0;
    }
    // Spec "Host cluster management": the table's first entry points at the block (cluster 2),
    // which holds one 16-bit refcount per cluster.
    this.clusters[1].writeBigUInt64BE(BigInt(2 * cs), 0);
    if (this.clusters.length > cs / 2) throw new Error('SpecImage: more clusters than one refcount block covers');
    for (let c = 0; c < this.clusters.length; c++) this.clusters[2].writeUInt16BE(1, c * 2);
    return Buffer.concat(this.clusters);
  }

  private writeU64(host: number, value: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(value);
    this.write(host, b);
  }
}
