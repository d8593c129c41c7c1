import * as path from 'node:path';
import { BenchError, runMeasured } from './exec';
import type { BackupMeasured, Measured, RestoreMeasured, ToolRunner } from './tool-runner';

export const RESTIC_PASSWORD = 'bench-password-not-secret';

/**
 * restic as a peer. Choices made for fairness (also printed in RESULTS.md):
 * - `--no-cache`: our tool keeps no local metadata cache, and with a local-folder
 *   repository restic's cache would only copy index and tree files from one folder of
 *   the same disk to another.
 * - Both images are backed up from one fixed path (a hard link replaced before each
 *   backup, see run.ts), so the second backup uses the first as its parent snapshot,
 *   as a nightly backup of one disk would. The file's inode and mtime differ, so restic
 *   reads and chunks the whole image again; dedup then works on content.
 * - Defaults otherwise: repository format 2, compression auto (zstd), 16 MiB packs.
 */
export class ResticRunner implements ToolRunner {
  readonly name = 'restic' as const;

  constructor(private readonly restic: string) {}

  describe(): string {
    return `\`restic --no-cache\` with RESTIC_PASSWORD; \`init\`, \`backup --json IMAGE\`, \`restore latest --target DIR\``;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, RESTIC_PASSWORD, RESTIC_PROGRESS_FPS: '0.2' };
  }

  private argv(store: string, ...rest: string[]): string[] {
    return [this.restic, '--repo', store, '--no-cache', ...rest];
  }

  async init(store: string): Promise<Measured> {
    const r = await runMeasured(this.argv(store, 'init'), { env: this.env() });
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB };
  }

  async backup(store: string, image: string): Promise<BackupMeasured> {
    const r = await runMeasured(this.argv(store, '--json', 'backup', image), { env: this.env() });
    const reported: Record<string, number> = {};
    for (const line of r.stdout.split('\n')) {
      if (!line.includes('"summary"')) continue;
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.message_type !== 'summary') continue;
      for (const k of ['data_added', 'total_bytes_processed']) {
        if (typeof msg[k] === 'number') reported[k] = msg[k] as number;
      }
    }
    if (!('data_added' in reported)) throw new BenchError(`restic backup printed no JSON summary:\n${r.stdout.slice(-2000)}`);
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB, reported };
  }

  /** restic recreates the backed-up file's absolute path under the target folder. */
  async restore(store: string, scratchDir: string, backedUpPath: string): Promise<RestoreMeasured> {
    const r = await runMeasured(this.argv(store, 'restore', 'latest', '--target', scratchDir), { env: this.env() });
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB, file: path.join(scratchDir, backedUpPath) };
  }
}
