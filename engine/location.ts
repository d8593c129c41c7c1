import type { Backend } from './store/backend';
import { FsBackend } from './store/backends/fs';
import type { S3UrlOptions } from './store/backends/s3';

export interface LocationOptions {
  /** Create a local folder that does not exist yet (init). */
  create?: boolean;
  /** For `s3://` locations: endpoint, region, credentials (else from the environment, docs/S3.md). */
  s3?: S3UrlOptions;
}

/** A repository location: `s3://BUCKET/PREFIX`, or a local folder path. */
export async function openBackend(location: string | Backend, options: LocationOptions = {}): Promise<Backend> {
  if (typeof location !== 'string') return location;
  if (location.startsWith('s3://')) {
    // Loaded on demand: the AWS SDK costs ~0.15 s and ~20 MB that local-folder users need not pay.
    const { s3BackendFromUrl } = await import('./store/backends/s3');
    return s3BackendFromUrl(location, options.s3);
  }
  return FsBackend.open(location, { create: options.create });
}
