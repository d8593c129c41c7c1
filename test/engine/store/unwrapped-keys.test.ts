/**
 * A process that opens the same store again pays the passphrase's KDF once (crypto/unwrapped-keys.ts),
 * and the cache never opens what the passphrase alone would not: a wrong passphrase, a removed key,
 * another store.
 */
import { join } from 'node:path';
import { UnwrappedKeys, WrongPassphraseError, initRepository, openRepository } from '../../../engine';
import * as keyFile from '../../../engine/crypto/key-file';
import { PASS, TEST_INIT, tempDir } from '../../helpers';

let dir: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('scwb-unwrapped-');
});
afterEach(async () => {
  jest.restoreAllMocks();
  await dir.cleanup();
});

async function closed<T extends { backend: { close(): Promise<void> } }>(repo: T): Promise<T> {
  await repo.backend.close();
  return repo;
}

it('unwraps once per key and passphrase, and opens with the same keys afterwards', async () => {
  const store = join(dir.path, 'store');
  const first = await closed(await initRepository(store, PASS, TEST_INIT));
  const cache = new UnwrappedKeys();
  const unwrap = jest.spyOn(keyFile, 'unwrapMasterKey');
  const a = await closed(await openRepository(store, PASS, { unwrapped: cache }));
  const b = await closed(await openRepository(store, PASS, { unwrapped: cache }));
  expect(unwrap).toHaveBeenCalledTimes(1);
  expect(Buffer.from(b.keys.encryption)).toEqual(Buffer.from(first.keys.encryption));
  expect(b.keyId).toBe(a.keyId);
  // Without the cache, every open pays again.
  await closed(await openRepository(store, PASS));
  expect(unwrap).toHaveBeenCalledTimes(2);
});

it('a wrong passphrase, a removed key and another store are not opened from the cache', async () => {
  const store = join(dir.path, 'store');
  const other = join(dir.path, 'other');
  const second = 'a second passphrase for this store';
  const repo = await initRepository(store, PASS, TEST_INIT);
  await repo.addKey(second, TEST_INIT.kdf, true);
  await repo.backend.close();
  await closed(await initRepository(other, PASS, TEST_INIT));
  const cache = new UnwrappedKeys();
  const opened = await closed(await openRepository(store, PASS, { unwrapped: cache }));

  await expect(openRepository(store, 'not the passphrase at all', { unwrapped: cache })).rejects.toBeInstanceOf(WrongPassphraseError);
  // Another store with the same passphrase: its own key, not this one's.
  const o = await closed(await openRepository(other, PASS, { unwrapped: cache }));
  expect(Buffer.from(o.keys.encryption)).not.toEqual(Buffer.from(opened.keys.encryption));

  // The key PASS opened is removed (through the second passphrase): PASS no longer opens the store.
  const bySecond = await openRepository(store, second, { unwrapped: cache });
  await bySecond.removeKey(opened.keyId);
  await bySecond.backend.close();
  await expect(openRepository(store, PASS, { unwrapped: cache })).rejects.toBeInstanceOf(WrongPassphraseError);
});
