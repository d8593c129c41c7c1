/** What long operations report, at most a few times a second and once at the end. */
export interface Progress {
  phase: string;
  /** Bytes of input handled so far (guest bytes read for a backup, written for a restore). */
  bytesDone: number;
  /** Total expected for bytesDone, when known. */
  bytesTotal?: number;
  /** Backup: plaintext bytes of new chunks; restore: bytes fetched from the store. */
  bytesNew: number;
  /** Bytes written to the store (sealed, compressed). */
  bytesStored: number;
  elapsedMs: number;
}

export type ProgressCallback = (p: Progress) => void;

/** Rate-limits progress reports; `done()` always reports. */
export class ProgressReporter {
  private last = 0;
  private readonly started = Date.now();

  constructor(private readonly callback: ProgressCallback | undefined, private readonly intervalMs = 250) {}

  report(p: Omit<Progress, 'elapsedMs'>, force = false): void {
    if (!this.callback) return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    this.callback({ ...p, elapsedMs: now - this.started });
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }
}
