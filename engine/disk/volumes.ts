import { NotFoundError, UnsupportedFeatureError, UsageError } from '../errors';
import type { DiskReader } from './disk-reader';
import { identifyFileSystem, isExt, type FileSystemType } from './fs-type';
import { readPartitionTable, type Partition, type PartitionTable } from './partitions';

/** A part of the disk that may hold a file system: a partition, or the whole disk when it has no table. */
export interface Volume {
  /** Undefined for a file system on the whole disk. */
  partition?: Partition;
  start: number;
  size: number;
  fs: FileSystemType;
}

export interface DiskLayout {
  /** Undefined when the disk has no partition table. */
  table?: PartitionTable;
  volumes: Volume[];
}

/** What cannot be read here is still reachable as a block device (docs/FILES.md). */
export const USE_NBD = 'not supported here: use serve --nbd and mount it (docs/FILES.md)';

/** The disk's volumes: its partitions with what each holds, or the whole disk. */
export async function readDiskLayout(disk: DiskReader, name: string): Promise<DiskLayout> {
  // A file system made on the whole disk (mke2fs /dev/vdb) has no table; its first sector is its own.
  const whole = await identifyFileSystem(disk, 0, disk.size);
  const table = whole.type === 'unknown' || whole.type === 'vfat' || whole.type === 'ntfs' ? await readPartitionTable(disk, name) : undefined;
  if (!table) return { volumes: disk.size > 0 ? [{ start: 0, size: disk.size, fs: whole }] : [] };
  const volumes: Volume[] = [];
  for (const partition of table.partitions) {
    volumes.push({ partition, start: partition.start, size: partition.size, fs: await identifyFileSystem(disk, partition.start, partition.size) });
  }
  return { table, volumes };
}

export function describeVolume(v: Volume, name: string): string {
  return v.partition ? `partition ${v.partition.number} of ${name}` : name;
}

/**
 * The ext2/3/4 volume to browse: `--partition N`, or the only ext file system of the disk. Anything
 * else is refused with what the disk holds and what to do.
 */
export function chooseExtVolume(layout: DiskLayout, name: string, partition?: number): Volume {
  const summary = layout.volumes.map((v) => (v.partition ? `${v.partition.number}: ${v.fs.type}` : v.fs.type)).join(', ');
  if (partition !== undefined) {
    if (!layout.table) {
      if (partition === 0 && layout.volumes.length === 1) return checkExt(layout.volumes[0], name);
      throw new NotFoundError(`${name} has no partition table (its whole disk holds ${summary || 'nothing'}): leave out --partition`);
    }
    const v = layout.volumes.find((x) => x.partition?.number === partition);
    if (!v) throw new NotFoundError(`${name} has no partition ${partition} (its ${layout.table.scheme.toUpperCase()} lists ${summary || 'none'})`);
    return checkExt(v, name);
  }
  const ext = layout.volumes.filter((v) => isExt(v.fs));
  if (ext.length === 1) return ext[0];
  if (ext.length > 1) {
    throw new UsageError('--partition', `${name} holds ${ext.length} ext file systems (partitions ${ext.map((v) => v.partition?.number).join(', ')}): choose one with --partition N`);
  }
  throw new UnsupportedFeatureError(name, 'file-system', `holds no ext2/3/4 file system (${layout.table ? `partitions ${summary || 'none'}` : summary}): ${USE_NBD}`);
}

function checkExt(v: Volume, name: string): Volume {
  if (!isExt(v.fs)) throw new UnsupportedFeatureError(describeVolume(v, name), v.fs.type, `holds ${v.fs.type === 'unknown' ? 'no file system we recognise' : v.fs.type}, only ext2/3/4 is read here: ${USE_NBD}`);
  return v;
}
