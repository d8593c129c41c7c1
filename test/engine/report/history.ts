/**
 * A store with a known history for the report's tests, built with real backups and drills at chosen
 * times (backupImage's `time`, a stepping clock for drills):
 * - orders (/srv/orders.img on db-1, production/critical, RPO 24h from the plan): daily backups at
 *   03:00, but none on days 20-22 and 30-31 (two gaps past the RPO in the period); drilled on day 39,
 *   RTO 90 s;
 * - web (/srv/web.img on web-1, production/standard, tag rpo=24h): daily, never drilled;
 * - reports (/srv/reports.img on app-1, staging/database, RPO 3d from the default policy): every other
 *   day; its drill on day 38 failed;
 * - legacy (/srv/legacy.img on old-1, no environment, tag rpo=24h): daily until day 30, then nothing
 *   (overdue); never drilled;
 * - billing (a Scaleway volume in the plan, production/pii, RPO 4h): never backed up.
 * The report's time is day 40 at 02:00 UTC; day 0 is 2026-09-01.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  RawFileSource, backupImage, drillToFile, initRepository,
  type ExpectedSource, type Repository, type Snapshot, type SourcePolicy,
} from '../../../engine';
import { PASS, TEST_INIT, prng, steppingClock, writeImage } from '../../helpers';

export const DAY0 = Date.parse('2026-09-01T00:00:00.000Z');
const DAY = 86_400_000;
export const NOW = DAY0 + 40 * DAY + 2 * 3_600_000;
export const at = (day: number, hour = 3): string => new Date(DAY0 + day * DAY + hour * 3_600_000).toISOString();
export const BILLING = 'scaleway-block://fr-par-1/11111111-2222-3333-4444-555555555555';

export const expectedSources = (dir: string): ExpectedSource[] => [
  { name: 'orders', location: diskPath(dir, 'orders'), environment: 'production', dataClass: 'critical', rpo: { seconds: 86400, text: '24h' }, retention: { daily: 7, weekly: 4 } },
  { name: 'billing', location: BILLING, environment: 'production', dataClass: 'pii', rpo: { seconds: 4 * 3600, text: '4h' } },
];

/** The caller's defaults by tags: staging sources get an RPO of 3 days and 3 daily snapshots. */
export const DEFAULT_POLICY = (tags: Record<string, string>): SourcePolicy | undefined =>
  tags.environment === 'staging' ? { rpo: { seconds: 3 * 86400, text: '3d' }, retention: { daily: 3 } } : undefined;

export interface History {
  repo: Repository;
  snapshots: Record<string, Snapshot[]>;
}

/** Local images are recorded by absolute path: the sources' locations are files under `dir`, named as above. */
export async function buildHistory(dir: string): Promise<History> {
  const repo = await initRepository(join(dir, 'repo'), PASS, TEST_INIT);
  const disks = join(dir, 'srv');
  await mkdir(disks, { recursive: true });
  const snapshots: Record<string, Snapshot[]> = {};
  const backup = async (name: string, host: string, day: number, tags: Record<string, string>): Promise<void> => {
    // 128 KiB disks whose second 64 KiB change every backup: one new chunk each time.
    const img = Buffer.alloc(128 * 1024, name.length);
    prng(day * 31 + name.length)(64 * 1024).copy(img, 64 * 1024);
    const path = await writeImage(disks, `${name}.img`, img);
    const src = await RawFileSource.open(path);
    try {
      (snapshots[name] ??= []).push(await backupImage(repo, src, { time: new Date(at(day)), hostname: host, tags, workers: 0 }));
    } finally {
      await src.close();
    }
  };
  for (let day = 0; day < 40; day++) {
    if (![20, 21, 22, 30, 31].includes(day)) await backup('orders', 'db-1', day, { environment: 'production', dataClass: 'critical' });
    await backup('web', 'web-1', day, { environment: 'production', dataClass: 'standard', rpo: '24h' });
    if (day % 2 === 0) await backup('reports', 'app-1', day, { environment: 'staging', dataClass: 'database' });
    if (day <= 30) await backup('legacy', 'old-1', day, { rpo: '24h' });
  }
  const last = (name: string): Snapshot => snapshots[name][snapshots[name].length - 1];
  const scratch = join(dir, 'scratch');
  await mkdir(scratch);
  await drillToFile(repo, last('orders'), { scratchDir: scratch, clock: steppingClock(at(39, 10), 90_000), workers: 0 });
  // A scratch folder that does not exist: the restore fails, and the drill is recorded as failed.
  await drillToFile(repo, last('reports'), { scratchDir: join(dir, 'missing'), clock: steppingClock(at(38, 11), 60_000), workers: 0 });
  return { repo, snapshots };
}

/** The location a history's disk is recorded under. */
export const diskPath = (dir: string, name: string): string => join(dir, 'srv', `${name}.img`);
