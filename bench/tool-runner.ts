/** What a benchmarked tool must do; restic.ts and ours.ts implement it. */

export type ImageFormat = 'raw' | 'qcow2';

export interface Measured {
  seconds: number;
  peakRssKiB: number;
}

export interface BackupMeasured extends Measured {
  /** What the tool says it added (restic data_added, ours bytesNew/bytesStored); informational only. */
  reported: Record<string, number>;
}

export interface RestoreMeasured extends Measured {
  /** The restored image, to compare against the source. */
  file: string;
}

export interface ToolRunner {
  readonly name: 'ours' | 'restic';
  /** Human description of the exact flags, for RESULTS.md. */
  describe(): string;
  init(store: string): Promise<Measured>;
  /** Back up the image found at `image` (always the same path, see run.ts). */
  backup(store: string, image: string): Promise<BackupMeasured>;
  /**
   * Restore the latest snapshot into the empty folder scratchDir; returns the restored
   * image's path. backedUpPath is the absolute path the snapshot was taken from.
   */
  restore(store: string, scratchDir: string, backedUpPath: string): Promise<RestoreMeasured>;
}
