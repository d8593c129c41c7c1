/**
 * The report's HTML without a browser: self-contained (no script, no URL to fetch, a CSP that forbids
 * fetching), and every text from the store or the plan escaped.
 */
import { buildReport, renderReportHtml, type Snapshot } from '../../../engine';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const hostile = '<img src=x onerror=alert(1)>"\'&';

function snapshot(over: Partial<Snapshot>): Snapshot {
  return {
    id: 'ab'.repeat(32), version: 1, time: '2026-11-30T03:00:00.000Z', hostname: 'h', username: 'u',
    source: { format: 'raw', location: `/srv/${hostile}.img` }, tags: { environment: hostile, dataClass: 'critical', rpo: '24h' },
    size: 1024, chunker: { kind: 'fixed', size: 65536 }, map: [], stats: { bytesRead: 1024, bytesNew: 512, bytesStored: 300, chunks: 1, newChunks: 1, holeBytes: 0, durationMs: 5 },
    ...over,
  };
}

test('text from snapshots and the plan is escaped; nothing is fetched', () => {
  const report = buildReport({
    now: NOW, from: NOW - 30 * 86_400_000, snapshots: [snapshot({})], damagedSnapshots: [{ id: 'cd'.repeat(32), kind: 'unreadable', message: `snapshots/x is damaged: ${hostile}` }],
    drills: [], damagedDrills: [],
    expected: [{ name: `plan ${hostile}`, location: 'scaleway-block://fr-par-1/11111111-2222-3333-4444-555555555555', environment: 'production', dataClass: 'critical' }],
    store: { location: `s3://bucket/${hostile}`, formatVersion: 2, packs: 1, packBytes: 1000, uniqueBytes: 512, uniqueStoredBytes: 300, drills: 0, prune: { ok: true, bytesRemoved: 0, packsRemoved: 0, packsRepacked: 0, drillRecordsRemoved: 0 } },
  });
  const html = renderReportHtml(report);
  expect(html).not.toContain('<img');
  expect(html).not.toContain(hostile);
  expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
  expect(html).not.toMatch(/<script|<link|<iframe|https?:\/\//i);
  expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
});
