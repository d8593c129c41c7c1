/**
 * The compliance report as one self-contained HTML page (docs/REPORT.md): inline CSS and SVG, no
 * script, and a Content-Security-Policy that forbids fetching anything, so it opens offline, from a
 * CI artifact or a mail, and prints to PDF as it shows. Built from the report's JSON alone; every
 * text that comes from the store or the plan is escaped.
 */
import { formatAge, formatBytes } from '../format';
import { esc, growthSvg, timelineSvg } from './svg';
import type { ComplianceReport, SourceReport } from './types';

const STYLE = `
:root { --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --muted: #5f6b7a; --line: #d8dee4; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .muted, .loc { color: var(--muted); } .loc { font-size: 12px; word-break: break-all; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 14px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.tile b { display: block; font-size: 20px; } .tile.bad b { color: var(--bad); }
.attention { border: 2px solid var(--bad); border-radius: 6px; padding: 4px 16px 10px; background: #fff5f5; }
.attention.clear { border-color: var(--ok); background: #f3fbf5; }
.attention li { margin: 4px 0; break-inside: avoid; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; } th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); font-weight: 600; } tr { break-inside: avoid; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 6px; border-radius: 10px; color: #fff; background: var(--muted); }
.badge.ok, .badge.passed { background: var(--ok); } .badge.overdue, .badge.no-backup, .badge.failed { background: var(--bad); } .badge.missing { background: var(--warn); }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--muted); }
svg.timeline { width: 100%; height: 26px; }
.timeline .axis, .growth .grid { stroke: var(--line); } .timeline .tick { stroke: #24292f; stroke-width: 1.2; vector-effect: non-scaling-stroke; } .timeline .gap { fill: var(--bad); opacity: .35; }
.growth .area { fill: #0969da; opacity: .15; } .growth .line { fill: none; stroke: #0969da; stroke-width: 2; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } section.store { break-before: page; } }
`;

const BADGE: Record<string, string> = { ok: 'OK', overdue: 'OVERDUE', 'no-backup': 'NO BACKUP', 'no-rpo': 'NO RPO', passed: 'PASSED', failed: 'FAILED', missing: 'NO DRILL' };
const badge = (status: string): string => `<span class="badge ${esc(status)}">${esc(BADGE[status] ?? status)}</span>`;
const day = (iso: string): string => iso.slice(0, 16).replace('T', ' ');
const ratio = (r: number | null): string => (r === null ? '-' : `${r.toFixed(2)}×`);
const ORIGIN: Record<string, string> = { plan: 'plan', tag: 'tag', default: 'default policy' };

function rules(r: Record<string, number | string>): string {
  return Object.entries(r).map(([k, v]) => (k === 'within' ? `within ${v}` : `${v} ${k}`)).join(', ');
}

function lastBackupCell(s: SourceReport): string {
  const rpo = s.rpo ? `RPO ${esc(s.rpo.text)} <span class="muted">(${ORIGIN[s.rpo.from]})</span>` : '<span class="muted">no RPO known</span>';
  if (!s.lastBackup) return `${badge(s.status)}<br>${rpo}`;
  return `${badge(s.status)} ${esc(formatAge(s.lastBackup.ageSeconds))} ago<br><span class="muted">${esc(day(s.lastBackup.time))}</span><br>${rpo}`;
}

function timelineCell(s: SourceReport, from: number, to: number): string {
  const gaps = s.gaps.length === 0 ? 'no gap past the RPO' : `${s.gaps.length} gap(s) past the RPO, longest ${formatAge(Math.max(...s.gaps.map((g) => g.seconds)))}`;
  return `${timelineSvg(s, from, to)}<br><span class="muted">${s.backups.length} backup(s); ${esc(gaps)}</span>`;
}

function keptCell(s: SourceReport): string {
  const kept = s.kept.oldest ? `${s.kept.snapshots} snapshot(s) since ${esc(s.kept.oldest.slice(0, 10))}` : 'nothing kept';
  return `${kept}${s.retention ? `<br><span class="muted">keep ${esc(rules(s.retention.rules))} (${ORIGIN[s.retention.from]})</span>` : ''}`;
}

function drillCell(s: SourceReport): string {
  const d = s.lastDrill;
  if (!d) return `${badge('missing')}<br><span class="muted">never drilled</span>`;
  const rto = d.rtoSeconds === null ? '' : ` RTO ${esc(formatAge(d.rtoSeconds))}`;
  return `${badge(d.result)}${rto}<br><span class="muted">${esc(day(d.started))}, ${esc(d.target)}${d.result === 'passed' ? `, ${esc(formatBytes(d.bytesVerified))} verified` : ''}</span>` +
    (d.error ? `<br><span class="loc">${esc(d.error.message)}</span>` : '') + `<br><span class="muted">${s.drills.total} drill(s), ${s.drills.failed} failed</span>`;
}

function sourceRow(s: SourceReport, from: number, to: number): string {
  const where = s.name !== s.location && !s.name.startsWith(s.location) ? `<br><span class="loc">${esc(s.location)}</span>` : '';
  return `<tr><td><strong>${esc(s.name)}</strong>${where}</td><td>${lastBackupCell(s)}</td><td>${timelineCell(s, from, to)}</td>` +
    `<td>${keptCell(s)}</td><td>${drillCell(s)}</td>` +
    `<td>${esc(formatBytes(s.bytes.newInPeriod))} new<br>${esc(formatBytes(s.bytes.storedInPeriod))} stored<br><span class="muted">disk ${esc(formatBytes(s.bytes.size))}</span></td></tr>`;
}

function attentionSection(r: ComplianceReport): string {
  if (r.attention.length === 0) return '<section class="attention clear"><h2>Needs attention</h2><p>Every source met its RPO and its last drill passed.</p></section>';
  const items = r.attention.map((a) => `<li><strong>${esc(a.name)}</strong>: ${a.reasons.map(esc).join('; ')}</li>`);
  return `<section class="attention"><h2>Needs attention (${r.attention.length})</h2><ul>${items.join('')}</ul></section>`;
}

function storeSection(r: ComplianceReport): string {
  const st = r.store;
  const p = st.prune;
  const prune = p.ok
    ? `would delete ${p.packsRemoved} pack(s) and rewrite ${p.packsRepacked} (${esc(formatBytes(p.bytesRemoved))} of packs), and ${p.drillRecordsRemoved} drill record(s)`
    : `would refuse: ${esc(p.refused ?? '')}`;
  const damaged = r.damaged.snapshots.length + r.damaged.drills.length === 0 ? '' :
    `<h3>Damaged objects</h3><ul>${[...r.damaged.snapshots.map((d) => d.message), ...r.damaged.drills.map((d) => d.message)].map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`;
  return `<section class="store"><h2>Store</h2><p><code>${esc(st.location)}</code>, format version ${st.formatVersion}</p>${growthSvg(st.growth)}` +
    '<p class="muted">Bytes stored by the backups still in the store (compressed and encrypted), at the end of each day of the period.</p>' +
    `<dl class="facts"><dt>Snapshots</dt><dd>${st.snapshots}</dd><dt>Packs</dt><dd>${st.packs}, ${esc(formatBytes(st.packBytes))}</dd>` +
    `<dt>Guest data in snapshots</dt><dd>${esc(formatBytes(st.logicalBytes))}</dd><dt>Distinct data</dt><dd>${esc(formatBytes(st.uniqueBytes))}</dd>` +
    `<dt>Dedup ratio</dt><dd>${ratio(st.dedupRatio)}</dd><dt>Compression ratio</dt><dd>${ratio(st.compressionRatio)}</dd>` +
    `<dt>Drill records</dt><dd>${st.drills}</dd><dt>A prune now</dt><dd>${prune}</dd></dl>${damaged}</section>`;
}

export function renderReportHtml(r: ComplianceReport): string {
  const from = Date.parse(r.period.from);
  const to = Date.parse(r.period.to);
  const sources = r.groups.flatMap((g) => g.sources);
  const tile = (label: string, value: string | number, bad = false): string => `<div class="tile${bad ? ' bad' : ''}"><b>${esc(value)}</b>${esc(label)}</div>`;
  const overdue = sources.filter((s) => s.status === 'overdue' || s.status === 'no-backup').length;
  const drillsBad = sources.filter((s) => s.drillStatus !== 'passed').length;
  // The same column widths in every group's table, so that the groups line up.
  const cols = '<colgroup><col style="width:17%"><col style="width:13%"><col style="width:27%"><col style="width:14%"><col style="width:17%"><col style="width:12%"></colgroup>';
  const groups = r.groups.map((g) => `<h3>${esc(g.environment)} · ${esc(g.dataClass)}</h3><table>${cols}<thead><tr><th>Source</th><th>Last backup</th>` +
    `<th>Backups over the period</th><th>Kept</th><th>Last drill</th><th>Bytes in the period</th></tr></thead>` +
    `<tbody>${g.sources.map((s) => sourceRow(s, from, to)).join('')}</tbody></table>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backup compliance report: ${esc(r.store.location)}</title>
<style>${STYLE}</style></head><body>
<header><h1>Backup compliance report</h1>
<p class="meta">Store <code>${esc(r.store.location)}</code> · generated ${esc(day(r.generated))} UTC · period ${esc(r.period.from.slice(0, 10))} to ${esc(r.period.to.slice(0, 10))}</p>
<div class="tiles">${tile('sources', sources.length)}${tile('backup overdue or missing', overdue, overdue > 0)}${tile('drill failed or missing', drillsBad, drillsBad > 0)}` +
  `${tile('stored', formatBytes(r.store.packBytes))}${tile('dedup ratio', ratio(r.store.dedupRatio))}</div></header>
${attentionSection(r)}
<section class="sources"><h2>Sources</h2>${groups.join('\n')}</section>
${storeSection(r)}
<footer><p class="muted">scw-backup report, facts version ${r.version}: the same facts are in the report's JSON (scw-backup report --json FILE).</p></footer>
</body></html>
`;
}
