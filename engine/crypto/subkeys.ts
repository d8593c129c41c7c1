import { hkdfSync } from 'node:crypto';
import { Sealer, type SealVersion } from './seal';

/** The keys every repository operation uses, derived from the master key (FORMAT.md §3). */
export interface SubKeys {
  /** The store's format version, which the keys and the sealing scheme belong to. */
  version: SealVersion;
  /** The key of every sealed object (AES-256-GCM in v1, XAES-256-GCM in v2). */
  encryption: Uint8Array;
  /** HMAC-SHA256 key for blob ids. */
  chunkId: Uint8Array;
  /** HMAC-SHA256 key authenticating the config (v2; v1 configs are not authenticated). */
  config: Uint8Array | undefined;
  /** Seals and opens objects with `encryption`. */
  sealer: Sealer;
}

/** HKDF-SHA256 (RFC 5869) with the repository id as salt; the info strings name the format version. */
export function deriveSubKeys(masterKey: Uint8Array, repositoryId: Uint8Array, version: SealVersion): SubKeys {
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', masterKey, repositoryId, `scw-backup v${version} ${info}`, 32));
  const encryption = derive('encryption');
  return {
    version,
    encryption,
    chunkId: derive('chunk-id'),
    config: version === 1 ? undefined : derive('config'),
    sealer: new Sealer(encryption, version),
  };
}
