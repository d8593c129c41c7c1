import { createHmac, randomBytes } from 'node:crypto';

/**
 * Master keys this process has already unwrapped, by store, key file and passphrase: a process that
 * opens the same store many times pays the passphrase's Argon2id (~0.3 s and 64 MiB with the version 2
 * default) once, not at every open. `scw-backup run --plan` opens the store up to three times per
 * source, and the Pulumi plugin once per resource call (provider/connection.ts holds one for the
 * process). A key is kept only after the config's MAC verified it; the passphrase itself is never
 * kept: entries are named by an HMAC of it under a key made for this process.
 */
export class UnwrappedKeys {
  private readonly secret = randomBytes(32);
  private readonly keys = new Map<string, Uint8Array>();

  private slot(storeId: string, keyId: string, passphrase: string): string {
    return createHmac('sha256', this.secret).update(storeId).update('\0').update(keyId).update('\0').update(passphrase).digest('hex');
  }

  get(storeId: string, keyId: string, passphrase: string): Uint8Array | undefined {
    return this.keys.get(this.slot(storeId, keyId, passphrase));
  }

  set(storeId: string, keyId: string, passphrase: string, masterKey: Uint8Array): void {
    this.keys.set(this.slot(storeId, keyId, passphrase), masterKey);
  }
}
