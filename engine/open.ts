import { openBackend, type LocationOptions } from './location';
import type { Backend } from './store/backend';
import { Repository, type InitOptions, type OpenOptions } from './store/repository';

/** Create a new repository at a folder path, an `s3://BUCKET/PREFIX` URL, or on a given backend. */
export async function initRepository(location: string | Backend, passphrase: string, options: InitOptions & { location?: LocationOptions } = {}): Promise<Repository> {
  return Repository.init(await openBackend(location, { ...options.location, create: true }), passphrase, options);
}

/** Open an existing repository with one of its passphrases. */
export async function openRepository(location: string | Backend, passphrase: string, options: OpenOptions & { location?: LocationOptions } = {}): Promise<Repository> {
  return Repository.open(await openBackend(location, options.location), passphrase, options);
}
