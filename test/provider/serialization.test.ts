/**
 * The dynamic providers survive Pulumi's closure serialization: each is serialized with
 * `pulumi.runtime.serializeFunction` from the built package (a child Node process), loaded back in a
 * fresh process, and driven through create/diff/update/read/delete against the Scaleway API
 * emulator and the S3 server running here. Needs a build (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_NAME } from '../../provider/dynamic/module-path';
import { startRig, type Rig } from '../emulator/harness';
import { prng, tempDir } from '../helpers';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
let rig: Rig;
let dir: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  await rig.s3.createBucket('serialized');
  dir = await tempDir('scwb-serialized-');
});

afterAll(async () => {
  await rig?.stop();
  await dir?.cleanup();
});

const fixture = (name: string) => join(__dirname, 'fixtures', name);
const ROOT = join(__dirname, '..', '..');

test('the providers load their operations by the package\'s own name', () => {
  expect(PACKAGE_NAME).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string }).name);
});

test('serialized providers: no captured clients or secrets; the loaded text runs the whole lifecycle', async () => {
  const env = { ...process.env, OUT_DIR: dir.path };
  // Async child processes only: the emulator and s3rver answer from this process's event loop.
  await exec(process.execPath, [fixture('serialize-providers.js')], { env });
  for (const name of ['backup-store', 'backup-source', 'restore']) {
    const text = await readFile(join(dir.path, `${name}.js`), 'utf8');
    // What is captured: the package name of the module doing the work, never a path, a client or a key.
    expect(text).toContain(`"scw-backup/provider/${name === 'backup-store' ? 'store-ops' : name === 'restore' ? 'restore-ops' : 'source-ops'}"`);
    expect(text).not.toContain(ROOT);
    expect(text).not.toMatch(/S3Client|Blockv1|createClient|SCW[A-Z0-9]{17}/);
  }

  const volume = await rig.emulator.createVolume({ name: 'serialized-vol', size: 4 * MiB, bytes: prng(71)(MiB) });
  const store = {
    url: 's3://serialized/store', passphrase: 'serialized provider passphrase',
    s3: { endpoint: rig.s3.endpoint, region: rig.s3.region, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY },
  };
  const source = {
    kind: 'volume', zone: 'fr-par-1', resourceId: volume.id, bucket: rig.bucket, schedule: '24h', retention: { last: 1 },
    scaleway: { accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY, projectId: rig.emulator.credentials.projectId, apiUrl: rig.emulator.url, s3Endpoint: rig.s3.endpoint },
  };
  // In a program's folder, as the provider plugin runs: the operations resolve from there by package name.
  const cwd = join(ROOT, 'examples', 'pulumi', 'single-volume');
  const r = await exec(process.execPath, [fixture('run-providers.js')], { cwd, env: { ...env, LIFECYCLE: JSON.stringify({ store, source }) }, maxBuffer: 16 * MiB });
  const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('@@RESULT@@') + '@@RESULT@@'.length));
  expect(out.storeCreate.outs).toMatchObject({ snapshotCount: 0, adopted: false });
  expect(out.check.failures).toBeUndefined();
  expect(out.badCheck.failures).toEqual([{ property: 'zone', reason: 'zone: "paris" is not a Scaleway zone (e.g. fr-par-1)' }]);
  expect(out.create.id).toBe(`scaleway-block://fr-par-1/${volume.id}`);
  expect(out.create.outs).toMatchObject({ status: 'ok', snapshotCount: 1 });
  expect(out.diff).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  expect(out.diffChanged).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  // keep-last 1: the update's backup replaces the first in the store.
  expect(out.update.outs).toMatchObject({ status: 'ok', snapshotCount: 1 });
  expect(out.update.outs.lastSnapshotId).not.toBe(out.create.outs.lastSnapshotId);
  expect(out.read.props).toMatchObject({ status: 'ok', lastSnapshotId: out.update.outs.lastSnapshotId });
  expect(out.restore.outs.volumeIds).toHaveLength(1);
  expect(out.restore.outs.snapshotId).toBe(out.update.outs.lastSnapshotId);
  expect(out.storeRead.outs ?? out.storeRead.props).toMatchObject({ snapshotCount: 1 });
  // The restored volume was deleted with the resource (deleteOnDestroy); the source was not touched.
  expect(() => rig.emulator.volumeInfo(out.restore.outs.volumeIds[0])).toThrow();
  expect(rig.emulator.volumeInfo(volume.id).status).toBe('available');
  // The store survives the resource's deletion by default.
  expect((out.storeAfterDelete.props ?? out.storeAfterDelete.outs).snapshotCount).toBe(1);
}, 120_000);
