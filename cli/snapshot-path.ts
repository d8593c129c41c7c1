import type { Command } from 'commander';
import { parseInteger } from './args';

/** `SNAPSHOT[:PATH]` (ls, dump): a snapshot id, prefix or `latest`, and a path inside its file system. */
export function splitSnapshotPath(arg: string): { ref: string; path?: string } {
  const colon = arg.indexOf(':');
  return colon < 0 ? { ref: arg } : { ref: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export interface PartitionFlags {
  partition?: number;
  /** false with --no-lock */
  lock: boolean;
}

/** Options ls and dump share. */
export function fileOptions(cmd: Command): Command {
  return cmd
    .option('--partition <n>', 'the partition to read, by number (as Linux numbers them: `ls SNAPSHOT` lists them); default: the only ext file system', (v: string) => parseInteger(v, '--partition'))
    .option('--no-lock', 'read without locking the store (a read-only store or key); a prune running meanwhile makes this fail, never read wrong data');
}
