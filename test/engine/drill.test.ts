import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InterruptedError, RawFileSource, backupImage, checkRepository, drillToFile, forgetSnapshots, initRepository, listDrills, pruneRepository,
  type Repository,
} from '../../engine';
import { PASS, TEST_INIT, makeImage, steppingClock, tempDir, writeImage } from '../helpers';

const SIZE = 2 * 1024 * 1024;

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;
let scratch: string;
beforeEach(async () => {
  dir = await tempDir();
  repo = await initRepository(join(dir.path, 'repo'), PASS, { ...TEST_INIT, packSize: 1 << 20 });
  scratch = join(dir.path, 'scratch');
  await mkdir(scratch);
});
afterEach(async () => {
  await dir.cleanup();
});

async function backup(name: string, seed: number, time?: string) {
  const src = await RawFileSource.open(await writeImage(dir.path, name, makeImage(SIZE, seed)));
  try {
    return await backupImage(repo, src, { time: time ? new Date(time) : undefined, workers: 0 });
  } finally {
    await src.close();
  }
}

it('a drill to a scratch file verifies every byte, records its RTO, and leaves nothing behind', async () => {
  const snap = await backup('web.img', 1, '2026-11-01T03:00:00.000Z');
  const r = await drillToFile(repo, snap, { scratchDir: scratch, clock: steppingClock('2026-11-02T10:00:00.000Z', 90_000), workers: 0 });
  expect(r.record).toMatchObject({
    version: 1, snapshot: snap.id, snapshotTime: '2026-11-01T03:00:00.000Z', source: { location: snap.source.location, hostname: snap.hostname },
    target: 'file', started: '2026-11-02T10:00:00.000Z', finished: '2026-11-02T10:03:00.000Z', rtoSeconds: 90, bytesVerified: SIZE, result: 'passed',
  });
  expect(r.record.error).toBeUndefined();
  expect(await readdir(scratch)).toEqual([]);
  expect((await listDrills(repo)).drills).toEqual([{ id: r.id, ...r.record }]);
});

it('a drill whose restore meets damaged data fails, is recorded with the error, and removes its scratch file', async () => {
  const snap = await backup('db.img', 2);
  // Damage every pack: the restore must refuse to produce the image.
  for (const sub of await readdir(join(dir.path, 'repo', 'packs'))) {
    for (const name of await readdir(join(dir.path, 'repo', 'packs', sub))) {
      const p = join(dir.path, 'repo', 'packs', sub, name);
      const data = await readFile(p);
      data[10] ^= 0x40;
      await writeFile(p, data);
    }
  }
  const r = await drillToFile(repo, snap, { scratchDir: scratch, workers: 0 });
  expect(r.record).toMatchObject({ result: 'failed', rtoSeconds: null, bytesVerified: 0, error: { code: 'DAMAGED_OBJECT' } });
  expect(r.record.error?.message).toMatch(/damaged/);
  expect(await readdir(scratch)).toEqual([]);
  expect((await listDrills(repo)).drills.map((d) => d.result)).toEqual(['failed']);
});

it('an interrupted drill records nothing and removes its scratch file', async () => {
  const snap = await backup('web.img', 3);
  const controller = new AbortController();
  controller.abort(new InterruptedError('SIGINT'));
  await expect(drillToFile(repo, snap, { scratchDir: scratch, signal: controller.signal, workers: 0 })).rejects.toBeInstanceOf(InterruptedError);
  expect(await readdir(scratch)).toEqual([]);
  expect((await listDrills(repo)).drills).toEqual([]);
});

it('records go with the snapshots they name: prune removes those of forgotten snapshots and keeps a damaged one', async () => {
  const old = await backup('web.img', 4, '2026-10-01T03:00:00.000Z');
  const kept = await backup('web.img', 5, '2026-11-01T03:00:00.000Z');
  const a = await drillToFile(repo, old, { scratchDir: scratch, workers: 0 });
  const b = await drillToFile(repo, kept, { scratchDir: scratch, workers: 0 });
  await forgetSnapshots(repo, { policy: { last: 1 } });
  // A damaged record: its snapshot cannot be read from it, so prune keeps it (and says so).
  const damaged = 'cd'.repeat(32);
  await writeFile(join(dir.path, 'repo', 'drills', damaged), Buffer.from('not a record'));

  const dry = await pruneRepository(repo, { dryRun: true, graceMs: 0 });
  expect(dry.drills).toEqual({ total: 3, removed: 1, damaged: 1 });
  expect((await listDrills(repo)).drills.map((d) => d.id).sort()).toEqual([a.id, b.id].sort());

  const real = await pruneRepository(repo, { graceMs: 0 });
  expect(real.drills).toEqual({ total: 3, removed: 1, damaged: 1 });
  expect(real.warnings.join('\n')).toContain(`drills/${damaged}`);
  const left = await listDrills(repo);
  expect(left.drills.map((d) => d.id)).toEqual([b.id]);
  expect(left.damaged.map((d) => d.id)).toEqual([damaged]);
});

it('check counts drill records and reports a damaged one as an error', async () => {
  const snap = await backup('web.img', 6);
  await drillToFile(repo, snap, { scratchDir: scratch, workers: 0 });
  expect(await checkRepository(repo)).toMatchObject({ ok: true, drills: 1 });
  await writeFile(join(dir.path, 'repo', 'drills', 'ef'.repeat(32)), Buffer.from('planted'));
  const r = await checkRepository(repo);
  expect(r).toMatchObject({ ok: false, drills: 2 });
  expect(r.errors).toEqual([{ object: `drills/${'ef'.repeat(32)}`, message: expect.stringContaining('its contents do not match its name') }]);
});
