/**
 * The Pulumi plugin and `scw-backup run` open the store at every resource call and plan step
 * (provider/connection.ts): the passphrase's KDF runs at the first open only.
 */
import { join } from 'node:path';
import * as keyFile from '../../engine/crypto/key-file';
import { initStore, withStore, type StoreConnection } from '../../provider/connection';
import { TEST_INIT, tempDir } from '../helpers';

it('a process pays the KDF of a store once, however often it opens it', async () => {
  const dir = await tempDir('scwb-provider-open-');
  try {
    const store: StoreConnection = { url: join(dir.path, 'store'), passphrase: 'a passphrase for this test' };
    await (await initStore(store, TEST_INIT)).backend.close();
    const unwrap = jest.spyOn(keyFile, 'unwrapMasterKey');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await withStore(store, async (repo) => repo.config.id));
    expect(unwrap).toHaveBeenCalledTimes(1);
    expect(new Set(ids).size).toBe(1);
    await expect(withStore({ ...store, passphrase: 'another passphrase, wrong' }, async () => 0)).rejects.toThrow(/passphrase/i);
  } finally {
    jest.restoreAllMocks();
    await dir.cleanup();
  }
});
