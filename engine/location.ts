import type { Backend } from './store/backend';
import { FsBackend } from './store/backends/fs';

/** A repository location: a local folder path (S3 URLs come with the S3 backend). */
export async function openBackend(location: string | Backend, options: { create?: boolean } = {}): Promise<Backend> {
  if (typeof location !== 'string') return location;
  return FsBackend.open(location, options);
}
