/**
 * Which data path a Block volume's backup or restore takes (docs/SCALEWAY.md, "Which path"):
 * `export` (snapshot export / import through the staging bucket, volumes of at most 1 TB, from
 * anywhere), `attach` (the volume attached to this Instance and read or written directly, any size,
 * only on an Instance in the volume's zone), or `auto`: the export, unless the volume is over the
 * export limit and this is an Instance of its zone. The metadata service is asked only then: a
 * backup of a volume that fits the export never waits for it.
 */
import { TransferLimitError } from './errors';
import { TRANSFER_LIMIT } from './limits';
import { instanceMetadata, isInstance, type MetadataOptions } from './metadata';

export type Via = 'export' | 'attach' | 'auto';

export async function choosePath(
  via: Via | undefined, o: { size: number; zone: string; what: string; action: 'back up' | 'restore'; limit?: number; metadata?: MetadataOptions },
): Promise<'export' | 'attach'> {
  const limit = o.limit ?? TRANSFER_LIMIT;
  if (via === 'attach') return 'attach';
  if (via === 'export' || o.size <= limit) return 'export';
  const me = await instanceMetadata(o.metadata);
  if (isInstance(me) && me.zone === o.zone) return 'attach';
  throw new TransferLimitError(o.what, o.zone, o.size, limit, o.action);
}
