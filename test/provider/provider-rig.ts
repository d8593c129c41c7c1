/**
 * The emulator and the local S3 server as the provider's operations see them: a store (BackupStore's
 * create, in a bucket of its own) and the Scaleway connection, for tests that drive *-ops directly.
 */
import { initStore, type ScalewayConnection, type StoreConnection } from '../../provider/connection';
import { realmSafeFetch, startRig, type Rig } from '../emulator/harness';
import { TEST_INIT } from '../helpers';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';

/** The SDK's fetch made safe for jest's realms. */
export const overrides = { fetch: realmSafeFetch };

export interface ProviderRig {
  rig: Rig;
  store: StoreConnection;
  scaleway: ScalewayConnection;
}

export async function startProviderRig(prefix: string, passphrase: string): Promise<ProviderRig> {
  const rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  await rig.s3.createBucket('backups');
  const store: StoreConnection = {
    url: `s3://backups/${prefix}`, passphrase,
    s3: { endpoint: rig.s3.endpoint, region: rig.s3.region, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY },
  };
  // BackupStore's create.
  const repo = await initStore(store, TEST_INIT);
  await repo.backend.close();
  const scaleway = { accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY, projectId: rig.emulator.credentials.projectId, apiUrl: rig.emulator.url, s3Endpoint: rig.s3.endpoint };
  return { rig, store, scaleway };
}
