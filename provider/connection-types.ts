/**
 * The connection inputs of the resources, as plain types in a module of their own: the package's
 * type declarations reach them from provider/index.d.ts without reaching the engine's Scaleway and S3
 * clients, whose SDK types need tsconfig settings a Pulumi project does not have
 * (test/provider/package.test.ts).
 */
/** Where the store is and how to open it. `passphrase` is a secret input. */
export interface StoreConnection {
  /** `s3://BUCKET/PREFIX` or a local folder. */
  url: string;
  passphrase: string;
  /** For `s3://` stores: endpoint and region (default Scaleway's of the region), keys. */
  s3?: { endpoint?: string; region?: string; accessKey?: string; secretKey?: string };
}

/** The API key the backups run as (BackupIdentity's outputs) and the project. */
export interface ScalewayConnection {
  accessKey: string;
  secretKey: string;
  projectId: string;
  organizationId?: string;
  /** The Scaleway API (tests: the emulator). */
  apiUrl?: string;
  /** The staging bucket's S3 endpoint (default https://s3.REGION.scw.cloud). */
  s3Endpoint?: string;
}

/** Test-only knobs that are not resource inputs (a jest-safe fetch). */
export interface ConnectionOverrides {
  fetch?: typeof fetch;
}
