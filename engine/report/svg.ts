/**
 * The report's charts as inline SVG (no script, no fonts or images to fetch): a source's backups
 * over the period with its gaps past the RPO, and the store's growth. Every text in them is escaped.
 */
import { formatBytes } from '../format';
import type { SourceReport, StoreReport } from './types';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content and attribute values: a source's name or tag is whatever its owner typed. */
export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/**
 * Backups as ticks on the period's axis, gaps past the RPO as red bands (clipped to the period; an
 * open one reaches the right edge), with a title per gap for screens and a caption that prints.
 */
export function timelineSvg(s: SourceReport, from: number, to: number, width = 320, height = 26): string {
  const span = Math.max(1, to - from);
  const x = (iso: string): number => Math.min(width, Math.max(0, ((Date.parse(iso) - from) / span) * width));
  const parts: string[] = [`<line x1="0" y1="${height - 4}" x2="${width}" y2="${height - 4}" class="axis"/>`];
  for (const g of s.gaps) {
    const x0 = x(g.from);
    parts.push(`<rect x="${r1(x0)}" y="2" width="${r1(Math.max(1.5, x(g.to) - x0))}" height="${height - 6}" class="gap">` +
      `<title>${esc(`no backup for ${Math.round(g.seconds / 3600)} h, from ${g.from.slice(0, 16).replace('T', ' ')} to ${g.open ? 'now' : g.to.slice(0, 16).replace('T', ' ')}`)}</title></rect>`);
  }
  for (const b of s.backups) parts.push(`<line x1="${r1(x(b.time))}" y1="4" x2="${r1(x(b.time))}" y2="${height - 4}" class="tick"/>`);
  const label = `${s.backups.length} backup(s) in the period, ${s.gaps.length} gap(s) past the RPO`;
  // Stretched to its column's width (preserveAspectRatio none): a time axis, nothing to keep square.
  return `<svg class="timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">${parts.join('')}</svg>`;
}

/** Cumulative stored bytes per day as an area, with its scale in bytes and dates. */
export function growthSvg(growth: StoreReport['growth'], width = 640, height = 180): string {
  if (growth.length === 0) return '';
  const left = 70;
  const bottom = height - 22;
  const top = 10;
  const max = Math.max(1, ...growth.map((g) => g.storedBytes));
  const x = (i: number): number => left + (growth.length === 1 ? 0 : (i / (growth.length - 1)) * (width - left - 10));
  const y = (v: number): number => bottom - (v / max) * (bottom - top);
  const line = growth.map((g, i) => `${r1(x(i))},${r1(y(g.storedBytes))}`).join(' ');
  const area = `M${r1(x(0))},${bottom} L${line.replace(/ /g, ' L')} L${r1(x(growth.length - 1))},${bottom} Z`;
  const ticks = [0, max / 2, max].map((v) => `<line x1="${left - 4}" y1="${r1(y(v))}" x2="${width - 10}" y2="${r1(y(v))}" class="grid"/>` +
    `<text x="${left - 8}" y="${r1(y(v) + 4)}" text-anchor="end">${esc(formatBytes(Math.round(v)))}</text>`);
  const dates = [0, Math.floor((growth.length - 1) / 2), growth.length - 1].filter((i, k, a) => a.indexOf(i) === k)
    .map((i, k, a) => `<text x="${r1(x(i))}" y="${height - 6}" text-anchor="${k === 0 ? 'start' : k === a.length - 1 ? 'end' : 'middle'}">${esc(growth[i].date)}</text>`);
  return `<svg class="growth" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" ` +
    `aria-label="${esc(`stored bytes from ${formatBytes(growth[0].storedBytes)} to ${formatBytes(growth[growth.length - 1].storedBytes)}`)}">` +
    `${ticks.join('')}<path d="${area}" class="area"/><polyline points="${line}" class="line"/>${dates.join('')}</svg>`;
}
