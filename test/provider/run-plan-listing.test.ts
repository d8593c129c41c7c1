/**
 * `run --plan` tells which sources are due from one listing of the store for the whole shard, not
 * one per source (issue #18: a fleet's plan against a store of many snapshots). Counted at the S3
 * wire, through the fault proxy in front of the rig's S3 server; the sources are Block Storage
 * volumes of the Scaleway API emulator.
 */
import { listSnapshots } from '../../engine';
import { initStore, withStore } from '../../provider/connection';
import type { Plan } from '../../provider/plan';
import { runPlan } from '../../provider/run-plan';
import { startRig, type Rig } from '../emulator/harness';
import { TEST_INIT, prng } from '../helpers';
import { startFaultProxy, type FaultProxy } from '../rig/fault-proxy';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from '../rig/s3-server';

const MiB = 1024 * 1024;
const PASSPHRASE = 'plan listing passphrase';
const secrets = { passphrase: PASSPHRASE, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY };
let rig: Rig;
let proxy: FaultProxy;
let plan: Plan;
const store = () => ({ url: 's3://fleet/prod', passphrase: PASSPHRASE, s3: { endpoint: proxy.endpoint, region: rig.s3.region, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY } });

/** The store's requests the proxy saw, by what they were for. */
function seen(): { catalogLists: number; manifestGets: number; keyGets: number } {
  const urls = proxy.requests.map((r) => `${r.method} ${decodeURIComponent(r.url)}`);
  return {
    catalogLists: urls.filter((u) => /^GET \/fleet\/\?list-type=2&.*prefix=prod\/catalog\//.test(u)).length,
    manifestGets: urls.filter((u) => /^GET \/fleet\/prod\/snapshots\/[0-9a-f]{64}(\?x-id=GetObject)?$/.test(u)).length,
    keyGets: urls.filter((u) => /^GET \/fleet\/prod\/keys\/[0-9a-f]{64}(\?x-id=GetObject)?$/.test(u)).length,
  };
}

beforeAll(async () => {
  rig = await startRig({ accessKey: TEST_ACCESS_KEY });
  await rig.s3.createBucket('fleet');
  proxy = await startFaultProxy(rig.s3.endpoint);
  const repo = await initStore(store(), TEST_INIT);
  await repo.backend.close();
  const sources = [];
  for (let i = 0; i < 6; i++) {
    const v = await rig.emulator.createVolume({ name: `db-${i}`, size: 2 * MiB, bytes: prng(300 + i)(128 * 1024) });
    sources.push({ name: `db-${i}`, kind: 'volume' as const, zone: 'fr-par-1', resourceId: v.id, bucket: rig.bucket, schedule: '24h', retention: { last: 3 } });
  }
  plan = {
    version: 1,
    store: { url: 's3://fleet/prod', s3: { endpoint: proxy.endpoint, region: rig.s3.region } },
    scaleway: { projectId: rig.emulator.credentials.projectId, apiUrl: rig.emulator.url, s3Endpoint: rig.s3.endpoint },
    sources,
  };
});

afterAll(async () => {
  await proxy?.stop();
  await rig?.stop();
});

test('one catalog listing and one manifest read per source tell what is due, however many sources', async () => {
  const first = await runPlan(plan, secrets, { concurrency: 2 });
  expect(first).toMatchObject({ backedUp: 6, notDue: 0, failed: 0 });

  proxy.reset();
  const again = await runPlan(plan, secrets, { concurrency: 2 });
  expect(again).toMatchObject({ backedUp: 0, notDue: 6, failed: 0 });
  for (const r of again.sources) expect(r.snapshotId).toBe(first.sources.find((f) => f.name === r.name)?.snapshotId);
  // One open (its key read once) and one listing for six sources; each source's newest manifest
  // read once, since the catalog vouches only for summaries.
  expect(seen()).toEqual({ catalogLists: 1, manifestGets: 6, keyGets: 1 });
}, 120_000);

test('a damaged newest manifest is passed over for the newest that reads, as the Pulumi read does', async () => {
  // A second snapshot of db-0: the run is told it is a day later (the snapshot's time is the clock's).
  const later = new Date(Date.now() + 25 * 3600_000);
  const one = await runPlan({ ...plan, sources: plan.sources.slice(0, 1) }, secrets, { now: later });
  expect(one).toMatchObject({ backedUp: 1, failed: 0 });
  const [older, newer] = await withStore(store(), async (repo) => (await listSnapshots(repo)).snapshots.filter((s) => s.source.volumeName === 'db-0'));
  expect(newer.id).toBe(one.sources[0].snapshotId);

  // The newest's manifest replaced by the older one's bytes: it no longer matches its name.
  await withStore(store(), async (repo) => {
    const bytes = await repo.backend.get(`snapshots/${older.id}`);
    await repo.backend.delete(`snapshots/${newer.id}`);
    await repo.backend.put(`snapshots/${newer.id}`, bytes);
  });
  proxy.reset();
  const r = await runPlan(plan, secrets, { now: new Date(Date.parse(newer.time) + 3600_000) });
  expect(r).toMatchObject({ backedUp: 0, notDue: 6, failed: 0 });
  expect(r.sources.find((s) => s.name === 'db-0')?.snapshotId).toBe(older.id);
  expect(seen()).toEqual({ catalogLists: 1, manifestGets: 7, keyGets: 1 });

  // And once the older one is more than a day old as well, db-0 is due: the damaged one does not count.
  const due = await runPlan({ ...plan, sources: plan.sources.slice(0, 1) }, secrets, { now: new Date(Date.parse(older.time) + 24 * 3600_000 + 60_000) });
  expect(due).toMatchObject({ backedUp: 1, failed: 0 });
}, 120_000);
