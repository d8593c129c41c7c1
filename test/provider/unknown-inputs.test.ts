/**
 * Inputs a preview does not know yet reach Check and Diff as the unknown sentinel, at the depth
 * where they are unknown (provider/unknowns.ts). Check lets them through and checks what is known;
 * Diff answers without the network: an update, and a replacement only for a known change.
 * (test/provider/plugin-lifecycle.test.ts runs the same through the Node plugin.)
 */
import * as pulumi from '@pulumi/pulumi';
import { diffRestore } from '../../provider/restore-ops';
import { diffSource, validateSource, type BackupSourceInputs, type BackupSourceOutputs } from '../../provider/source-ops';
import { diffStore, validateStore, type BackupStoreOutputs } from '../../provider/store-ops';
import { UNKNOWN, containsUnknowns, knownChanges } from '../../provider/unknowns';

const VOLUME = '00000000-0000-4000-8000-000000000001';
const store = { url: 's3://backups/production', passphrase: 'p', s3: { accessKey: 'SCWAAAAAAAAAAAAAAAAA', secretKey: 'k' } };
const scaleway = { accessKey: 'SCWAAAAAAAAAAAAAAAAA', secretKey: 'k', projectId: '11111111-2222-3333-4444-555555555555' };
const inputs: BackupSourceInputs = { kind: 'volume', zone: 'fr-par-1', resourceId: VOLUME, bucket: 'staging', store, scaleway, schedule: '4h' };
const outputs: BackupSourceOutputs = { ...inputs, location: `scaleway-block://fr-par-1/${VOLUME}`, snapshotCount: 1, status: 'ok' };

it('is the SDK\'s own sentinel', () => {
  expect(UNKNOWN).toBe(pulumi.runtime.unknownValue);
  expect(containsUnknowns({ a: [1, { b: UNKNOWN }] })).toBe(true);
  expect(knownChanges<Record<string, unknown>, string>({ a: 1, b: 1 }, { a: UNKNOWN, b: 2 }, ['a', 'b'])).toEqual(['b']);
});

describe('BackupSource', () => {
  it('Check passes unknown inputs, whole or nested, and still refuses a known bad one', () => {
    expect(() => validateSource({ ...inputs, store: UNKNOWN as never, scaleway: UNKNOWN as never, bucket: UNKNOWN })).not.toThrow();
    expect(() => validateSource({ ...inputs, store: { ...store, url: UNKNOWN }, resourceId: UNKNOWN, schedule: UNKNOWN })).not.toThrow();
    expect(() => validateSource({ ...inputs, store: UNKNOWN as never, zone: 'paris' })).toThrow(/^zone: "paris" is not a Scaleway zone/);
    expect(() => validateSource({ ...inputs, store: { ...store, url: '' } })).toThrow(/^store\.url: the store location is required/);
  });

  it('Diff with an unknown store or key answers an update without opening the store', async () => {
    // Opening a store whose URL is the sentinel would fail: success means the store was not touched.
    const rotated = await diffSource(outputs, { ...inputs, store: UNKNOWN as never, scaleway: UNKNOWN as never }, new Date());
    expect(rotated).toEqual({ reasons: ['store, scaleway: known only when the update runs'], replaces: [], backup: false, drift: [] });
    // A replace-input known to change still replaces; an unknown one does not.
    expect((await diffSource(outputs, { ...inputs, store: UNKNOWN as never, resourceId: '00000000-0000-4000-8000-000000000002' }, new Date())).replaces).toEqual(['resourceId']);
    expect((await diffSource(outputs, { ...inputs, store: UNKNOWN as never, resourceId: UNKNOWN }, new Date())).replaces).toEqual([]);
  });
});

describe('BackupStore', () => {
  const old: BackupStoreOutputs = { store, snapshotCount: 0, damagedSnapshots: [], adopted: false };
  it('Diff: an unknown store is an update; only a known other URL is a new store; a rotated key an update', () => {
    expect(diffStore(old, { store: UNKNOWN as never })).toEqual({ changes: true, replaces: [] });
    expect(diffStore(old, { store: { ...store, url: UNKNOWN } })).toEqual({ changes: true, replaces: [] });
    expect(diffStore(old, { store: { ...store, url: 's3://backups/other' } })).toEqual({ changes: true, replaces: ['store'] });
    expect(diffStore(old, { store: { ...store, s3: { ...store.s3, secretKey: 'rotated' } } })).toEqual({ changes: true, replaces: [] });
    expect(diffStore(old, { store })).toEqual({ changes: false, replaces: [] });
    // A state from before keepBackups, with the same meaning under the old name, is no change.
    expect(diffStore({ ...old, retainOnDelete: false }, { store, keepBackups: false })).toEqual({ changes: false, replaces: [] });
  });

  it('Check refuses the old input name retainOnDelete, which Pulumi\'s resource option shadows', () => {
    expect(() => validateStore({ store, retainOnDelete: false } as never)).toThrow(/^retainOnDelete: is now keepBackups/);
    expect(() => validateStore({ store: UNKNOWN as never })).not.toThrow();
    expect(() => validateStore({ store: { ...store, passphrase: '' } })).toThrow(/^store\.passphrase: required/);
  });
});

describe('Restore and RestoreDrill', () => {
  const source = { kind: 'volume' as const, zone: 'fr-par-1', resourceId: VOLUME, bucket: 'staging', store, scaleway };
  it('an unknown source (a rotated key) is an update, never a new restore; another volume is', () => {
    const old = { source, snapshot: 'latest', name: 'drill', deleteOnDestroy: true };
    expect(diffRestore(old, { ...old, source: UNKNOWN as never }, ['snapshot', 'name', 'attachTo'])).toEqual({ changes: true, replaces: [] });
    expect(diffRestore(old, { ...old, source: { ...source, scaleway: { ...scaleway, secretKey: 'rotated' } } }, ['snapshot', 'name', 'attachTo']))
      .toEqual({ changes: true, replaces: [] });
    expect(diffRestore(old, { ...old, source: { ...source, resourceId: '00000000-0000-4000-8000-000000000002' } }, ['snapshot', 'name', 'attachTo']))
      .toEqual({ changes: true, replaces: ['source'] });
    expect(diffRestore(old, { ...old, name: UNKNOWN }, ['snapshot', 'name', 'attachTo'])).toEqual({ changes: true, replaces: [] });
    expect(diffRestore(old, old, ['snapshot', 'name', 'attachTo'])).toEqual({ changes: false, replaces: [] });
  });
});
