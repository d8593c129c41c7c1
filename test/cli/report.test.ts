/**
 * `scw-backup report` through the built CLI: HTML and JSON files from a store and a plan (a plan's
 * source never backed up, a cron schedule read as its longest interval), the default policy by tags,
 * `--json` alone as the summary line, and usage errors. Needs a build (`npm test` builds first).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawFileSource, backupImage, initRepository, type ComplianceReport } from '../../engine';
import { PASS, TEST_INIT, makeImage, tempDir, writeImage } from '../helpers';
import { runCli, summaryOf } from './spawn-cli';

const HOUR = 3_600_000;
const VOLUME = '11111111-2222-3333-4444-555555555555';
let dir: { path: string; cleanup: () => Promise<void> };
let repo: string;
let plan: string;
const env = { SCW_BACKUP_PASSWORD: PASS };

beforeAll(async () => {
  dir = await tempDir('scwb-cli-report-');
  repo = join(dir.path, 'repo');
  const r = await initRepository(repo, PASS, TEST_INIT);
  const img = await writeImage(dir.path, 'web.img', makeImage(256 * 1024, 3));
  // Production/critical by tags: the default policy's RPO of 4h; the last backup is 6 hours old.
  for (const hoursAgo of [30, 27, 6]) {
    const src = await RawFileSource.open(img);
    await backupImage(r, src, { time: new Date(Date.now() - hoursAgo * HOUR), tags: { environment: 'production', dataClass: 'critical' }, workers: 0 });
    await src.close();
  }
  plan = join(dir.path, 'plan.json');
  await writeFile(plan, JSON.stringify({
    version: 1, store: { url: repo }, scaleway: { projectId: VOLUME },
    sources: [{ name: 'billing-db', kind: 'volume', zone: 'fr-par-1', resourceId: VOLUME, bucket: 'staging', environment: 'production', dataClass: 'pii', schedule: '0 3 * * *', retention: { daily: 7 } }],
  }));
}, 60_000);
afterAll(async () => {
  await dir?.cleanup();
});

test('--html and --json FILE with a plan: both files, the same facts', async () => {
  const html = join(dir.path, 'report.html');
  const json = join(dir.path, 'report.json');
  const r = await runCli(['report', '--repo', repo, '--html', html, '--json', json, '--since', '30d', '--plan', plan], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('2 source(s), 2 need attention');
  expect(r.stdout).toContain(`written: ${html}, ${json}`);
  const report = JSON.parse(await readFile(json, 'utf8')) as ComplianceReport;
  const sources = report.groups.flatMap((g) => g.sources);
  expect(sources.find((s) => s.name === 'billing-db')).toMatchObject({
    location: `scaleway-block://fr-par-1/${VOLUME}`, status: 'no-backup', rpo: { seconds: 86400, text: '0 3 * * *', from: 'plan' },
    retention: { rules: { daily: 7 }, from: 'plan' }, environment: 'production', dataClass: 'pii',
  });
  const web = sources.find((s) => s.location === join(dir.path, 'web.img'));
  expect(web).toMatchObject({ status: 'overdue', rpo: { seconds: 4 * 3600, text: '4h', from: 'default' }, retention: { rules: { daily: 7, weekly: 4, monthly: 12 }, from: 'default' } });
  expect(web?.gaps.map((g) => [Math.round(g.seconds / 3600), g.open])).toEqual([[21, false], [6, true]]);
  expect(report.attention.map((a) => a.name)).toEqual(['billing-db', `${join(dir.path, 'web.img')} (${web?.hostname})`]);
  const page = await readFile(html, 'utf8');
  expect(page).toContain('<h3>production · critical</h3>');
  expect(page).toContain('billing-db');
  expect(page).not.toContain(PASS);
});

test('--json alone: the report is the summary line; usage errors exit 2', async () => {
  const r = await runCli(['report', '--repo', repo, '--json'], env);
  expect(r.code).toBe(0);
  const s = summaryOf(r.stdout);
  expect(s).toMatchObject({ command: 'report', version: 1, written: [] });
  expect((s.store as { snapshots: number }).snapshots).toBe(3);

  const none = await runCli(['report', '--repo', repo], env);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('--html: missing: give --html FILE, --json FILE, or both');
  const since = await runCli(['report', '--repo', repo, '--json', '--since', 'last week'], env);
  expect(since.code).toBe(2);
  expect(since.stderr).toContain('--since: "last week" is not a period');
});
