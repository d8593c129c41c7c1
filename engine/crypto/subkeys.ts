import { hkdfSync } from 'node:crypto';

/** The two keys every repository operation uses, derived from the master key (FORMAT.md §3). */
export interface SubKeys {
  /** AES-256-GCM key for every sealed object. */
  encryption: Uint8Array;
  /** HMAC-SHA256 key for blob ids. */
  chunkId: Uint8Array;
}

/** HKDF-SHA256 (RFC 5869) with the repository id as salt. */
export function deriveSubKeys(masterKey: Uint8Array, repositoryId: Uint8Array): SubKeys {
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', masterKey, repositoryId, info, 32));
  return {
    encryption: derive('scw-backup v1 encryption'),
    chunkId: derive('scw-backup v1 chunk-id'),
  };
}
