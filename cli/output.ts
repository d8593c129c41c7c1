import { formatBytes } from '../engine/format';
import type { DamagedSnapshot } from '../engine/store/snapshot-file';
import type { Progress } from '../engine/progress';

export { formatBytes };

/**
 * Output convention (README "Scripting"): with --json every command prints JSON Lines on stdout —
 * zero or more {"type":"progress",...} (and {"type":"warning"}) lines, then exactly one {"type":"summary","command":...} line.
 * Without --json, results go to stdout as text and progress to stderr as a bar when it is a terminal.
 */
export class Output {
  private barShown = false;

  constructor(readonly json: boolean) {}

  summary(command: string, fields: Record<string, unknown>): void {
    if (this.json) process.stdout.write(JSON.stringify({ type: 'summary', command, ...fields }) + '\n');
  }

  /** Something the user should know that does not stop the command: stderr, or a JSON line. */
  warning(message: string): void {
    if (this.json) process.stdout.write(JSON.stringify({ type: 'warning', message }) + '\n');
    else process.stderr.write(`warning: ${message}\n`);
  }

  text(line: string): void {
    if (!this.json) process.stdout.write(line + '\n');
  }

  /** A progress callback for the engine, or undefined when nothing would be shown. */
  progress(): ((p: Progress) => void) | undefined {
    if (this.json) return (p) => process.stdout.write(JSON.stringify({ type: 'progress', ...p }) + '\n');
    if (!process.stderr.isTTY) return undefined;
    return (p) => {
      process.stderr.write('\r' + renderBar(p, process.stderr.columns || 80) + '\x1b[K');
      this.barShown = true;
    };
  }

  /** End the progress bar line before printing results. */
  endProgress(): void {
    if (this.barShown) process.stderr.write('\n');
    this.barShown = false;
  }
}

/** findSnapshot's `onDamaged`: a damaged manifest that `latest` skipped becomes a warning. */
export function skippedWarning(out: Output): (d: DamagedSnapshot) => void {
  return (d) => out.warning(`${d.message}; skipped: "latest" is the newest readable snapshot`);
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * One progress line that fits `columns` (the terminal's width): bytes, rate, ETA and a bar as wide as
 * the room left. A phase with nothing to count (a Scaleway export being made) shows its state and
 * the time it has taken, not a bar stuck at 0%.
 */
export function renderBar(p: Progress, columns = 80): string {
  const total = p.bytesTotal ?? 0;
  if (total <= 0) {
    return fit(`${p.phase}: ${p.bytesDone > 0 ? `${formatBytes(p.bytesDone)}, ` : ''}${formatDuration(p.elapsedMs)} elapsed` +
      (p.bytesStored > 0 ? `, stored ${formatBytes(p.bytesStored)}` : ''), columns);
  }
  const frac = Math.min(1, p.bytesDone / total);
  const rate = p.elapsedMs > 0 ? (p.bytesDone / p.elapsedMs) * 1000 : 0;
  const eta = rate > 0 ? formatDuration(((total - Math.min(total, p.bytesDone)) / rate) * 1000) : '?';
  const text = `${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytesDone)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${eta}` +
    (p.bytesStored > 0 ? ` stored ${formatBytes(p.bytesStored)}` : '');
  // Room for "phase [bar] text", the cursor kept off the last column (some terminals wrap there).
  const width = Math.min(30, columns - 1 - p.phase.length - 4 - text.length);
  if (width < 5) return fit(`${p.phase} ${text}`, columns);
  const filled = Math.round(frac * width);
  return `${p.phase} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${text}`;
}

function fit(line: string, columns: number): string {
  return line.length < columns ? line : `${line.slice(0, Math.max(0, columns - 2))}…`;
}
