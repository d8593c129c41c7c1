import type { FileInfo } from '../engine/files/ext-fs';
import type { Volume } from '../engine/disk/volumes';
import { formatBytes } from './output';

/** `ls -l`'s mode string: type letter, then rwx with setuid/setgid/sticky as s/S and t/T. */
export function modeString(info: Pick<FileInfo, 'type' | 'mode'>): string {
  const letter = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's', unknown: '?' }[info.type];
  const m = info.mode;
  const triple = (shift: number, special: number, on: string, off: string) =>
    (m & (4 << shift) ? 'r' : '-') + (m & (2 << shift) ? 'w' : '-') + (m & special ? (m & (1 << shift) ? on : off) : m & (1 << shift) ? 'x' : '-');
  return letter + triple(6, 0o4000, 's', 'S') + triple(3, 0o2000, 's', 'S') + triple(0, 0o1000, 't', 'T');
}

/** "2026-11-25 13:00:00 +0100": the local time, as `ls -l --time-style='+%Y-%m-%d %H:%M:%S %z'` prints it. */
export function lsTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ` +
    `${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
}

/** `ls -ln` lines: numeric owner and group right-aligned as GNU ls pads numbers, `name -> target` for symlinks. */
export function lsLines(entries: FileInfo[], name: (e: FileInfo) => string): string[] {
  const cols = entries.map((e) => [modeString(e), String(e.nlink), String(e.uid), String(e.gid), String(e.size)]);
  const width = [0, 1, 2, 3, 4].map((i) => Math.max(0, ...cols.map((c) => c[i].length)));
  return entries.map((e, k) => {
    const c = cols[k];
    return `${c[0]} ${c[1].padStart(width[1])} ${c[2].padStart(width[2])} ${c[3].padStart(width[3])} ${c[4].padStart(width[4])} ${lsTime(e.mtime)} ${name(e)}` +
      (e.target !== undefined ? ` -> ${e.target}` : '');
  });
}

/** One line per volume: `ls SNAPSHOT`. */
export function volumeLine(v: Volume): string {
  const label = v.fs.label ? ` "${v.fs.label}"` : '';
  if (!v.partition) return `whole disk  ${formatBytes(v.size)}  ${v.fs.type}${label}`;
  const p = v.partition;
  return `partition ${p.number}  start ${p.start}  ${formatBytes(p.size)}  ${p.typeName ?? p.type}${p.name ? ` (${p.name})` : ''}  ${v.fs.type}${label}`;
}

/** A FileInfo as JSON: times as ISO strings, the mode also as `ls -l` shows it. */
export function fileJson(e: FileInfo, name: string): Record<string, unknown> {
  return {
    name, path: e.path, type: e.type, mode: e.mode, permissions: modeString(e), nlink: e.nlink, uid: e.uid, gid: e.gid, size: e.size,
    mtime: e.mtime.toISOString(), ...(e.target !== undefined ? { target: e.target } : {}),
  };
}
