import type { Backend } from './store/backend';
import { FsBackend } from './store/backends/fs';
import { s3BackendFromUrl, type S3UrlOptions } from './store/backends/s3';

export interface LocationOptions {
  /** Create a local folder that does not exist yet (init). */
  create?: boolean;
  /** For `s3://` locations: endpoint, region, credentials (else from the environment, docs/S3.md). */
  s3?: S3UrlOptions;
}

/** A repository location: `s3://BUCKET/PREFIX`, or a local folder path. */
export async function openBackend(location: string | Backend, options: LocationOptions = {}): Promise<Backend> {
  if (typeof location !== 'string') return location;
  if (location.startsWith('s3://')) return s3BackendFromUrl(location, options.s3);
  return FsBackend.open(location, { create: options.create });
}
