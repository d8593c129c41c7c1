import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { BenchError, quote, runMeasured } from './exec';
import type { BackupMeasured, ImageFormat, Measured, RestoreMeasured, ToolRunner } from './tool-runner';

export const OURS_PASSWORD = 'bench-password-not-secret';

/**
 * The command that starts our CLI: `node bin/scw-backup.js` by default, or whatever
 * BENCH_OURS_CMD says (split on spaces), e.g. a stub script while the CLI is being written.
 * Everything after it follows the CLI contract: init / backup --json / restore.
 */
export function oursCommand(repoRoot: string, override: string | undefined): string[] {
  if (override && override.trim()) return override.trim().split(/\s+/);
  const bin = path.join(repoRoot, 'bin', 'scw-backup.js');
  const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) {
    throw new BenchError(`our CLI is not built (${main} is missing): run \`npm run build\`, or bench restic alone with BENCH_TOOLS=restic`);
  }
  return [process.execPath, bin];
}

export class OursRunner implements ToolRunner {
  readonly name = 'ours' as const;

  /**
   * @param command argv prefix that runs the CLI (see oursCommand)
   * @param initArgs extra `init` flags for this case, e.g. ['--chunker', 'fastcdc']
   * @param restoreFormat what `restore --format` writes; the bench compares it with the raw or QCOW2 image 2
   * @param extraEnv added to the child's environment (the S3 endpoint and credentials of the s3 case)
   */
  constructor(
    private readonly command: readonly string[],
    private readonly initArgs: readonly string[],
    private readonly restoreFormat: ImageFormat,
    private readonly extraEnv: Readonly<Record<string, string>> = {},
  ) {}

  describe(): string {
    const init = ['init', '--repo', 'STORE', ...this.initArgs];
    return `\`${quote(['scw-backup', ...init])}\`, \`scw-backup backup --repo STORE --json IMAGE\`, \`scw-backup restore --repo STORE latest --target FILE${this.restoreFormat === 'raw' ? '' : ` --format ${this.restoreFormat}`}\` (writes ${this.restoreFormat}) (SCW_BACKUP_PASSWORD${Object.keys(this.extraEnv).map((k) => `, ${k}`).join('')})`;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.extraEnv, SCW_BACKUP_PASSWORD: OURS_PASSWORD };
  }

  async init(store: string): Promise<Measured> {
    const r = await runMeasured([...this.command, 'init', '--repo', store, ...this.initArgs], { env: this.env() });
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB };
  }

  async backup(store: string, image: string): Promise<BackupMeasured> {
    const r = await runMeasured([...this.command, 'backup', '--repo', store, '--json', image], { env: this.env() });
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB, reported: parseSummary(r.stdout) };
  }

  async restore(store: string, scratchDir: string): Promise<RestoreMeasured> {
    const file = path.join(scratchDir, `restored.${this.restoreFormat}`);
    // raw is the CLI's default output; --format is passed only when it matters (QCOW2 output).
    const format = this.restoreFormat === 'raw' ? [] : ['--format', this.restoreFormat];
    const argv = [...this.command, 'restore', '--repo', store, 'latest', '--target', file, ...format];
    const r = await runMeasured(argv, { env: this.env() });
    return { seconds: r.seconds, peakRssKiB: r.peakRssKiB, file };
  }
}

/**
 * The last `{"type":"summary",…}` line of `backup --json`; numbers only. A backup that
 * exits 0 without it did not finish (e.g. Node left with a pending promise): fail.
 */
function parseSummary(stdout: string): Record<string, number> {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (msg.type !== 'summary') continue;
    const out: Record<string, number> = {};
    for (const k of ['bytesRead', 'bytesNew', 'bytesStored', 'containerBytesRead']) if (typeof msg[k] === 'number') out[k] = msg[k] as number;
    return out;
  }
  throw new BenchError(`\`scw-backup backup --json\` exited 0 but printed no {"type":"summary"} line; it did not finish. Last output:\n${stdout.slice(-1500)}`);
}
