/**
 * The compliance report's JSON from a store with a known history (history.ts): RPO gaps, overdue and
 * never backed-up sources, drills passed, failed and missing, the store's figures, and damaged objects
 * reported without failing the report.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectReport, cronRpo, rpoGaps, sourceCompliance, type ComplianceReport, type SourceReport } from '../../../engine';
import { PASS, tempDir } from '../../helpers';
import { BILLING, DEFAULT_POLICY, NOW, at, buildHistory, diskPath, expectedSources, type History } from './history';

let dir: { path: string; cleanup: () => Promise<void> };
let history: History;
let report: ComplianceReport;

beforeAll(async () => {
  dir = await tempDir('scwb-report-');
  history = await buildHistory(dir.path);
  report = await collectReport(history.repo, { now: NOW, periodMs: 30 * 86_400_000, expected: expectedSources(dir.path), defaultPolicy: DEFAULT_POLICY });
}, 120_000);
afterAll(async () => {
  await dir?.cleanup();
});

const source = (name: string): SourceReport => {
  const s = report.groups.flatMap((g) => g.sources).find((x) => x.name === name || x.location === diskPath(dir.path, name));
  if (!s) throw new Error(`no source ${name} in the report`);
  return s;
};

test('the period and the groups: by environment, then data class, unspecified last', () => {
  expect(report.period).toEqual({ from: at(10, 2), to: at(40, 2) });
  expect(report.generated).toBe(at(40, 2));
  expect(report.groups.map((g) => `${g.environment}/${g.dataClass}:${g.sources.map((s) => s.name).join(',')}`)).toEqual([
    'production/critical:orders',
    'production/pii:billing',
    `production/standard:${diskPath(dir.path, 'web')} (web-1)`,
    `staging/database:${diskPath(dir.path, 'reports')} (app-1)`,
    `unspecified/unspecified:${diskPath(dir.path, 'legacy')} (old-1)`,
  ]);
});

test('a source that missed its RPO twice: both gaps, last backup within the RPO, last drill and its RTO', () => {
  const s = source('orders');
  expect(s).toMatchObject({
    status: 'ok', rpoMet: true, rpo: { seconds: 86400, text: '24h', from: 'plan' }, retention: { rules: { daily: 7, weekly: 4 }, from: 'plan' },
    lastBackup: { time: at(39), ageSeconds: 23 * 3600 }, hostname: 'db-1',
    drillStatus: 'passed', lastDrill: { result: 'passed', rtoSeconds: 90, started: at(39, 10), target: 'file', bytesVerified: 128 * 1024 },
    drills: { total: 1, failed: 0, inPeriod: 1 }, attention: [],
  });
  expect(s.gaps).toEqual([
    { from: at(19), to: at(23), seconds: 4 * 86400, open: false },
    { from: at(29), to: at(32), seconds: 3 * 86400, open: false },
  ]);
  // Days 10..39 less the five missed ones.
  expect(s.backups).toHaveLength(30 - 5);
  expect(s.kept).toEqual({ snapshots: 35, oldest: at(0), newest: at(39) });
  expect(s.bytes.size).toBe(128 * 1024);
  expect(s.bytes.newInPeriod).toBe(history.snapshots.orders.filter((x) => x.time >= at(10, 2)).reduce((n, x) => n + x.stats.bytesNew, 0));
  expect(s.bytes.storedInPeriod).toBeGreaterThan(0);
});

test('a source never drilled, one whose drill failed, one overdue, one never backed up', () => {
  expect(source('web')).toMatchObject({ status: 'ok', rpo: { from: 'tag', seconds: 86400 }, retention: null, drillStatus: 'missing', lastDrill: null, gaps: [] });
  expect(source('web').attention).toEqual(['never drilled: no restore has been proven']);

  const reports = source('reports');
  expect(reports).toMatchObject({ status: 'ok', rpo: { from: 'default', text: '3d' }, retention: { rules: { daily: 3 }, from: 'default' }, drillStatus: 'failed', gaps: [] });
  expect(reports.lastDrill).toMatchObject({ result: 'failed', rtoSeconds: null, error: { code: expect.any(String) } });
  expect(reports.attention[0]).toMatch(/^last drill failed \(2026-10-09\): .*missing/);

  const legacy = source('legacy');
  expect(legacy).toMatchObject({ status: 'overdue', rpoMet: false, lastBackup: { time: at(30), ageSeconds: 9 * 86400 + 23 * 3600 } });
  expect(legacy.gaps).toEqual([{ from: at(30), to: at(40, 2), seconds: 9 * 86400 + 23 * 3600, open: true }]);
  expect(legacy.attention).toEqual(['backup overdue: the last one is 9 d 23 h old, RPO 24h', 'never drilled: no restore has been proven']);

  expect(source('billing')).toMatchObject({ location: BILLING, status: 'no-backup', lastBackup: null, rpoMet: null, backups: [], kept: { snapshots: 0 } });
});

test('sources that need attention come first, worst first', () => {
  expect(report.attention.map((a) => a.name)).toEqual([
    'billing', `${diskPath(dir.path, 'legacy')} (old-1)`, `${diskPath(dir.path, 'reports')} (app-1)`, `${diskPath(dir.path, 'web')} (web-1)`,
  ]);
  expect(report.attention[0].reasons).toEqual(['no backup at all', 'never drilled: no restore has been proven']);
});

test('the store: snapshots, packs, dedup, growth per day, and what a prune would free', () => {
  const all = Object.values(history.snapshots).flat();
  expect(report.store).toMatchObject({ snapshots: all.length, drills: 2, formatVersion: 2, location: join(dir.path, 'repo') });
  expect(report.store.packs).toBeGreaterThan(0);
  // Every disk's first 64 KiB is the same run of bytes: stored once for all.
  expect(report.store.dedupRatio).toBeGreaterThan(1.5);
  expect(report.store.logicalBytes).toBe(all.reduce((n, s) => n + s.size - s.stats.holeBytes, 0));
  expect(report.store.growth).toHaveLength(31);
  expect(report.store.growth[0].date).toBe('2026-09-11');
  expect(report.store.growth[30]).toEqual({ date: '2026-10-11', storedBytes: all.reduce((n, s) => n + s.stats.bytesStored, 0) });
  expect(report.store.prune).toEqual({ ok: true, bytesRemoved: 0, packsRemoved: 0, packsRepacked: 0, drillRecordsRemoved: 0 });
  expect(JSON.stringify(report)).not.toContain(PASS);
});

test('damaged snapshots and drill records are reported; the report still builds', async () => {
  await writeFile(join(dir.path, 'repo', 'snapshots', 'aa'.repeat(32)), 'planted');
  await writeFile(join(dir.path, 'repo', 'drills', 'bb'.repeat(32)), 'planted');
  try {
    const r = await collectReport(history.repo, { now: NOW, expected: expectedSources(dir.path) });
    expect(r.damaged.snapshots.map((d) => d.id)).toEqual(['aa'.repeat(32)]);
    expect(r.damaged.drills.map((d) => d.id)).toEqual(['bb'.repeat(32)]);
    // Prune would refuse (it cannot tell what the unreadable manifest needs): a fact, not a failure.
    expect(r.store.prune).toMatchObject({ ok: false, refused: expect.stringContaining('aa'.repeat(32)) });
    expect(r.groups.flatMap((g) => g.sources)).toHaveLength(5);
  } finally {
    const { rm } = await import('node:fs/promises');
    await rm(join(dir.path, 'repo', 'snapshots', 'aa'.repeat(32)));
    await rm(join(dir.path, 'repo', 'drills', 'bb'.repeat(32)));
  }
});

test('rpoGaps: gaps past the RPO, one that began before the period, and an open one', () => {
  const h = 3_600_000;
  expect(rpoGaps([0, 10 * h, 30 * h, 35 * h], 12 * h, 20 * h, 36 * h)).toEqual([
    { from: new Date(10 * h).toISOString(), to: new Date(30 * h).toISOString(), seconds: 20 * 3600, open: false },
  ]);
  expect(rpoGaps([0], 12 * h, 0, 13 * h)).toEqual([{ from: new Date(0).toISOString(), to: new Date(13 * h).toISOString(), seconds: 13 * 3600, open: true }]);
  expect(rpoGaps([], 12 * h, 0, 13 * h)).toEqual([]);
});

test('sourceCompliance: one source\'s facts as the report states them (what a BackupSource outputs)', async () => {
  expect(await sourceCompliance(history.repo, diskPath(dir.path, 'orders'), { rpo: { seconds: 86400, text: '24h' }, now: NOW })).toEqual({
    lastBackupAgeSeconds: 23 * 3600, rpoMet: true, drillStatus: 'passed', lastDrill: { started: at(39, 10), result: 'passed', rtoSeconds: 90 },
  });
  expect(await sourceCompliance(history.repo, diskPath(dir.path, 'legacy'), { rpo: { seconds: 86400, text: '24h' }, now: NOW })).toMatchObject({ rpoMet: false, drillStatus: 'missing', lastDrill: null });
  expect(await sourceCompliance(history.repo, BILLING, { rpo: { seconds: 3600, text: '1h' }, now: NOW })).toEqual({ lastBackupAgeSeconds: null, rpoMet: null, drillStatus: 'missing', lastDrill: null });
});

test('cronRpo: the longest interval between two firings', () => {
  const from = new Date('2026-11-02T00:00:00Z'); // a Monday
  expect(cronRpo('0 3 * * *', 'UTC', from).seconds).toBe(86400);
  expect(cronRpo('0 3 * * 1-5', 'UTC', from).seconds).toBe(3 * 86400);
  expect(cronRpo('*/30 * * * *', 'UTC', from)).toEqual({ seconds: 1800, text: '*/30 * * * *' });
});
