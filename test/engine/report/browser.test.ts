/**
 * The report's HTML in a real browser (Debian's chromium, headless, driven by playwright-core; .ci/run
 * installs it): the page renders from a file with no request beyond itself, its text shows the
 * history's figures, a screenshot is taken, and it prints to PDF. SCW_BACKUP_UPDATE_SCREENSHOT=1 copies
 * the screenshot to docs/report.png (the README shows it).
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { collectReport, formatBytes, renderReportHtml, type ComplianceReport } from '../../../engine';
import { tempDir } from '../../helpers';
import { DEFAULT_POLICY, NOW, buildHistory, diskPath, expectedSources } from './history';

const CHROMIUM = '/usr/bin/chromium';
let dir: { path: string; cleanup: () => Promise<void> };
let report: ComplianceReport;
let context: BrowserContext;
let page: Awaited<ReturnType<BrowserContext['newPage']>>;
const requests: string[] = [];
let file: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  dir = await tempDir('scwb-report-html-');
  const { repo } = await buildHistory(dir.path);
  // Every source named, as a plan would: the page shows names, not temporary paths.
  const named = ['web', 'reports', 'legacy'].map((name) => ({ name, location: diskPath(dir.path, name) }));
  report = await collectReport(repo, { now: NOW, periodMs: 30 * 86_400_000, expected: [...expectedSources(dir.path), ...named], defaultPolicy: DEFAULT_POLICY });
  file = join(dir.path, 'report.html');
  await writeFile(file, renderReportHtml(report));
  context = await chromium.launchPersistentContext(join(dir.path, 'profile'), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
}, 180_000);
afterAll(async () => {
  await context?.close();
  await dir?.cleanup();
});

test('the page loads from its file alone and shows the figures', async () => {
  expect(requests).toEqual([pathToFileURL(file).href]);
  expect(await page.title()).toBe(`Backup compliance report: ${join(dir.path, 'repo')}`);
  const text = await page.innerText('body');
  // At the top, worst first.
  const attention = await page.innerText('section.attention');
  expect(attention).toContain('Needs attention (4)');
  expect(attention.indexOf('billing: no backup at all')).toBeLessThan(attention.indexOf('legacy: backup overdue: the last one is 9 d 23 h old, RPO 24h'));
  expect(attention).toMatch(/reports: last drill failed \(2026-10-09\)/);
  expect(attention).toContain('web: never drilled');
  expect(attention).not.toContain('orders');
  // The source that missed its RPO twice, drilled with an RTO of 90 s.
  const orders = await page.innerText('tr:has(strong:text-is("orders"))');
  expect(orders).toContain('OK 23 h ago');
  expect(orders).toContain('RPO 24h (plan)');
  expect(orders).toContain('25 backup(s); 2 gap(s) past the RPO, longest 4 d');
  expect(orders).toContain('35 snapshot(s) since 2026-09-01');
  expect(orders).toContain('keep 7 daily, 4 weekly (plan)');
  expect(orders).toContain('PASSED RTO 1 min 30 s');
  expect(await page.locator('tr:has(strong:text-is("orders")) svg.timeline rect.gap').count()).toBe(2);
  expect(await page.innerText('tr:has(strong:text-is("billing"))')).toContain('NO BACKUP');
  expect(await page.innerText('tr:has(strong:text-is("reports"))')).toContain('FAILED');
  expect(await page.innerText('tr:has(strong:text-is("web"))')).toContain('NO DRILL');
  // Groups by environment and data class, and the store.
  expect((await page.locator('section.sources h3').allInnerTexts()).map((t) => t.toLowerCase())).toEqual([
    'production · critical', 'production · pii', 'production · standard', 'staging · database', 'unspecified · unspecified',
  ]);
  expect(text).toContain(`Dedup ratio\n${report.store.dedupRatio?.toFixed(2)}×`);
  expect(text).toContain(`Snapshots\n${report.store.snapshots}`);
  expect(text).toContain(`Packs\n${report.store.packs}, ${formatBytes(report.store.packBytes)}`);
  expect(await page.locator('svg.growth polyline').count()).toBe(1);
});

test('a screenshot, and the page prints to PDF', async () => {
  const shot = join(dir.path, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  const png = await readFile(shot);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  if (process.env.SCW_BACKUP_UPDATE_SCREENSHOT === '1') await copyFile(shot, resolve(__dirname, '../../../docs/report.png'));
  const pdf = await page.pdf({ format: 'A4', landscape: true, printBackground: true });
  expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  expect(pdf.length).toBeGreaterThan(10_000);
});
