/**
 * Scaleway's size limit on snapshot export and import (docs-content
 * pages/instances/api-cli/snapshot-import-export-feature.mdx, validated 2025-05-28: "Snapshots should
 * have a volume size between one gigabyte (GB) and one terabyte (TB)"; on import "the API might raise
 * other errors if [...] the volume is bigger than one terabyte"). Block Storage volumes go to 10 TB:
 * larger ones are refused before anything is created, naming the direct-attach path instead.
 */
import { TransferLimitError } from './errors';

/** 1 TB as Scaleway counts volume sizes (GB of 10^9 bytes). */
export const TRANSFER_LIMIT = 1_000_000_000_000;

/** Throw TransferLimitError when a volume of `size` bytes cannot go through export or import. */
export function checkTransferable(what: string, zone: string, size: number, action: 'back up' | 'restore' | 'verify', limit = TRANSFER_LIMIT): void {
  if (size > limit) throw new TransferLimitError(what, zone, size, limit, action);
}
