import { crc32 } from 'node:zlib';
import { DamagedObjectError } from '../errors';
import { readAt, type DiskReader } from './disk-reader';

/**
 * Partition tables of a guest disk: GPT (UEFI Specification 2.10, §5.3) and MBR (§5.2.1, with the
 * extended partitions' chain of EBRs as Linux reads it: logical partitions numbered from 5). The
 * disk is hostile input: every count, size and offset is bounded and checked before use, and a table
 * that fails its checks is an error naming what is wrong, never a guess.
 */
export interface Partition {
  /** As Linux numbers them: GPT entries by their index + 1, MBR primaries 1–4, logical partitions from 5. */
  number: number;
  /** Byte offset on the disk. */
  start: number;
  /** Length in bytes. */
  size: number;
  /** GPT: the type GUID (uppercase); MBR: the type byte, as `0x83`. */
  type: string;
  /** A name for the type when it is a common one ("Linux filesystem", "EFI System"...). */
  typeName?: string;
  /** GPT: the partition's name (UTF-16LE in the entry). */
  name?: string;
}

export interface PartitionTable {
  scheme: 'gpt' | 'mbr';
  /** Logical block size the table is written for (GPT: 512 or 4096; MBR: 512). */
  sectorSize: number;
  partitions: Partition[];
}

/** §5.3.2: "EFI PART". */
const GPT_SIGNATURE = Buffer.from('EFI PART', 'latin1');
/** §5.3.2: the header is at least 92 bytes and fits in one block. */
const GPT_HEADER_MIN = 92;
/** Bounds we put on hostile tables: more entries or a larger array than any partitioning tool writes. */
const GPT_MAX_ENTRIES = 1024;
const GPT_MAX_ARRAY_BYTES = 1024 * 1024;
/** §5.2.1: MBR partition records at 446, boot signature 0xAA55 at 510. */
const MBR_RECORDS = 446;
const MBR_SIGNATURE = 0xaa55;
/** §5.2.3: OS type 0xEE, the protective MBR of a GPT disk. */
const MBR_GPT_PROTECTIVE = 0xee;
/** Extended partitions (DOS 0x05, Windows LBA 0x0F, Linux 0x85): their EBR chain holds logical partitions. */
const MBR_EXTENDED = new Set([0x05, 0x0f, 0x85]);
/** Logical partitions followed at most (a hostile chain may loop or go on forever). */
const MAX_LOGICAL = 128;

const GPT_TYPES: Record<string, string> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI System',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'Linux /home',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
};
const MBR_TYPES: Record<number, string> = {
  0x07: 'NTFS/exFAT', 0x0b: 'FAT32', 0x0c: 'FAT32 (LBA)', 0x0e: 'FAT16 (LBA)', 0x82: 'Linux swap', 0x83: 'Linux',
  0x8e: 'Linux LVM', 0xef: 'EFI System', 0xfd: 'Linux RAID',
};

/**
 * The disk's partition table, or undefined when it has none (a file system on the whole disk, or an
 * empty disk). `name` names the disk in errors.
 */
export async function readPartitionTable(disk: DiskReader, name: string): Promise<PartitionTable | undefined> {
  const mbr = await readAt(disk, 0, 512);
  if (mbr.length < 512 || mbr.readUInt16LE(510) !== MBR_SIGNATURE) {
    // No MBR signature: a GPT disk still has its protective MBR, so there is no table we read.
    return undefined;
  }
  const records = [0, 1, 2, 3].map((i) => mbrRecord(mbr, i));
  if (records.some((r) => r.type === MBR_GPT_PROTECTIVE)) {
    for (const sectorSize of [512, 4096]) {
      const gpt = await readGpt(disk, name, sectorSize);
      if (gpt) return gpt;
    }
    throw new DamagedObjectError(`the partition table of ${name}`, 'its protective MBR announces a GPT, but neither the primary nor the backup GPT header (512 or 4096-byte sectors) is valid');
  }
  // A FAT or NTFS boot sector also ends in 0xAA55: its "records" are code. Only well-formed records make a table.
  if (!records.every((r) => r.type === 0 || ((r.boot === 0 || r.boot === 0x80) && r.lba > 0 && r.sectors > 0))) return undefined;
  if (records.every((r) => r.type === 0)) return undefined;
  return { scheme: 'mbr', sectorSize: 512, partitions: await mbrPartitions(disk, name, records) };
}

interface MbrRecord {
  boot: number;
  type: number;
  lba: number;
  sectors: number;
}

function mbrRecord(sector: Buffer, i: number): MbrRecord {
  const o = MBR_RECORDS + 16 * i;
  return { boot: sector[o], type: sector[o + 4], lba: sector.readUInt32LE(o + 8), sectors: sector.readUInt32LE(o + 12) };
}

async function mbrPartitions(disk: DiskReader, name: string, records: MbrRecord[]): Promise<Partition[]> {
  const out: Partition[] = [];
  const where = `the MBR partition table of ${name}`;
  const add = (number: number, r: MbrRecord, base: number): void => {
    const start = (base + r.lba) * 512;
    const size = r.sectors * 512;
    if (start + size > disk.size) throw new DamagedObjectError(where, `partition ${number} (${start}+${size} bytes) runs past the end of the ${disk.size}-byte disk`);
    out.push({ number, start, size, type: `0x${r.type.toString(16).padStart(2, '0')}`, typeName: MBR_TYPES[r.type] });
  };
  let extended: MbrRecord | undefined;
  records.forEach((r, i) => {
    if (r.type === 0) return;
    if (MBR_EXTENDED.has(r.type)) {
      if (extended) throw new DamagedObjectError(where, 'it has two extended partitions');
      extended = r;
    } else add(i + 1, r, 0);
  });
  if (!extended) return out;
  // Each EBR: record 0 is a logical partition relative to the EBR, record 1 the next EBR relative
  // to the extended partition's start.
  const seen = new Set<number>();
  for (let ebr = extended.lba, n = 5; ; n++) {
    if (seen.has(ebr)) throw new DamagedObjectError(where, `its chain of logical partitions loops back to sector ${ebr}`);
    if (seen.size >= MAX_LOGICAL) throw new DamagedObjectError(where, `more than ${MAX_LOGICAL} logical partitions`);
    seen.add(ebr);
    if ((ebr + 1) * 512 > disk.size) throw new DamagedObjectError(where, `logical partition ${n}'s EBR at sector ${ebr} is past the end of the disk`);
    const sector = await readAt(disk, ebr * 512, 512);
    if (sector.readUInt16LE(510) !== MBR_SIGNATURE) throw new DamagedObjectError(where, `the EBR at sector ${ebr} has no 0xAA55 signature`);
    const logical = mbrRecord(sector, 0);
    const next = mbrRecord(sector, 1);
    if (logical.type !== 0) add(n, logical, ebr);
    if (next.type === 0 || next.lba === 0) return out;
    ebr = extended.lba + next.lba;
  }
}

/** The GPT at this sector size (primary header, else the backup at the disk's last block), or undefined. */
async function readGpt(disk: DiskReader, name: string, sectorSize: number): Promise<PartitionTable | undefined> {
  const lastLba = Math.floor(disk.size / sectorSize) - 1;
  for (const lba of [1, lastLba]) {
    if (lba < 1) continue;
    const header = await gptHeader(disk, lba, sectorSize);
    if (!header) continue;
    const partitions = await gptEntries(disk, name, header, sectorSize);
    if (partitions) return { scheme: 'gpt', sectorSize, partitions };
  }
  return undefined;
}

interface GptHeader {
  entriesLba: number;
  count: number;
  entrySize: number;
  entriesCrc: number;
}

/** §5.3.2: a header is valid when its signature and CRC32 (over HeaderSize bytes, CRC field zeroed) match and it is at `lba`. */
async function gptHeader(disk: DiskReader, lba: number, sectorSize: number): Promise<GptHeader | undefined> {
  const block = await readAt(disk, lba * sectorSize, sectorSize);
  if (block.length < sectorSize || !block.subarray(0, 8).equals(GPT_SIGNATURE)) return undefined;
  const headerSize = block.readUInt32LE(12);
  if (headerSize < GPT_HEADER_MIN || headerSize > sectorSize) return undefined;
  const copy = Buffer.from(block.subarray(0, headerSize));
  const crc = copy.readUInt32LE(16);
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== crc || Number(block.readBigUInt64LE(24)) !== lba) return undefined;
  return {
    entriesLba: Number(block.readBigUInt64LE(72)),
    count: block.readUInt32LE(80),
    entrySize: block.readUInt32LE(84),
    entriesCrc: block.readUInt32LE(88),
  };
}

/** §5.3.3: the partition entry array, checked against the header's CRC32; undefined when it does not match. */
async function gptEntries(disk: DiskReader, name: string, h: GptHeader, sectorSize: number): Promise<Partition[] | undefined> {
  const where = `the GPT of ${name}`;
  // SizeOfPartitionEntry is 128 × 2^n (§5.3.2).
  if (h.entrySize < 128 || h.entrySize > 4096 || (h.entrySize & (h.entrySize - 1)) !== 0) throw new DamagedObjectError(where, `its entries are ${h.entrySize} bytes, not 128 × 2^n`);
  if (h.count > GPT_MAX_ENTRIES || h.count * h.entrySize > GPT_MAX_ARRAY_BYTES) throw new DamagedObjectError(where, `it announces ${h.count} entries of ${h.entrySize} bytes, more than we read (${GPT_MAX_ENTRIES})`);
  const arrayStart = h.entriesLba * sectorSize;
  const arrayBytes = h.count * h.entrySize;
  if (!Number.isSafeInteger(arrayStart) || arrayStart + arrayBytes > disk.size) throw new DamagedObjectError(where, `its entry array at block ${h.entriesLba} runs past the end of the disk`);
  const array = await readAt(disk, arrayStart, arrayBytes);
  if (crc32(array) !== h.entriesCrc) return undefined;
  const out: Partition[] = [];
  for (let i = 0; i < h.count; i++) {
    const e = array.subarray(i * h.entrySize, (i + 1) * h.entrySize);
    const type = guid(e.subarray(0, 16));
    if (type === '00000000-0000-0000-0000-000000000000') continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40)); // inclusive
    const start = first * sectorSize;
    const size = (last - first + 1) * sectorSize;
    if (last < first || !Number.isSafeInteger(start) || start + size > disk.size) {
      throw new DamagedObjectError(where, `partition ${i + 1} (blocks ${first}..${last}) is empty or runs past the end of the ${disk.size}-byte disk`);
    }
    const name16 = e.subarray(56, 128).toString('utf16le');
    const nul = name16.indexOf('\0');
    out.push({ number: i + 1, start, size, type, typeName: GPT_TYPES[type], name: nul < 0 ? name16 : name16.slice(0, nul) });
  }
  return out;
}

/** A GUID's text form: the first three fields are stored little-endian (UEFI Appendix A). */
function guid(b: Buffer): string {
  const hex = (x: Buffer) => x.toString('hex').toUpperCase();
  const rev = (x: Buffer) => hex(Buffer.from(x).reverse());
  return `${rev(b.subarray(0, 4))}-${rev(b.subarray(4, 6))}-${rev(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}
