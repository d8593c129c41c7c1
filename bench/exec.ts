import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A child process that failed; the bench stops on the first one. */
export class BenchError extends Error {
  readonly code = 'BENCH_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Show the child's output on our terminal instead of capturing it (apt-get). */
  inherit?: boolean;
  /** What error messages show as the command (defaults to argv). */
  display?: readonly string[];
  /** Throw stdout away (cat IMAGE to warm the page cache); stderr is still captured. */
  discardStdout?: boolean;
  /** Each chunk of stdout as it arrives, with the seconds since the spawn (progress lines' timing). */
  onStdout?: (chunk: string, seconds: number) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface MeasuredResult extends RunResult {
  /** Peak resident set size of the child, from GNU time's %M. */
  peakRssKiB: number;
}

export const GNU_TIME = '/usr/bin/time';

function quote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function tail(text: string, max = 4000): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** Run argv to completion; a non-zero exit throws with the child's stderr. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => {
      out.push(b);
      opts.onStdout?.(b.toString('utf8'), Number(process.hrtime.bigint() - started) / 1e9);
    });
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new BenchError(`cannot start ${quote(argv)}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve({ stdout, stderr, seconds });
        return;
      }
      const why = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      reject(new BenchError(`${quote(opts.display ?? argv)} ${why}\n--- stderr ---\n${tail(stderr) || '(empty)'}\n--- stdout (tail) ---\n${tail(stdout, 1500) || '(empty)'}`));
    });
  });
}

/**
 * Run argv under GNU time to get its peak RSS. Wall time is taken around the
 * spawn here; GNU time's own overhead (one fork/exec) is well under a millisecond.
 */
export async function runMeasured(argv: readonly string[], opts: RunOptions = {}): Promise<MeasuredResult> {
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const r = await run([GNU_TIME, '-f', '%M', '-o', rssFile, ...argv], { display: argv, ...opts });
    // On failure GNU time writes "Command exited with non-zero status N" first; %M is the last line.
    const lines = (await fsp.readFile(rssFile, 'utf8')).trim().split('\n');
    const peakRssKiB = Number(lines[lines.length - 1]);
    if (!Number.isFinite(peakRssKiB)) throw new BenchError(`${GNU_TIME} gave no peak RSS for ${quote(argv)}: ${lines.join(' | ')}`);
    return { ...r, peakRssKiB };
  } finally {
    await fsp.rm(rssFile, { force: true });
  }
}

/** `du -sb DIR`: apparent bytes, what a byte-billed object store would hold. */
export async function duBytes(dir: string): Promise<number> {
  const r = await run(['du', '-sb', dir]);
  const n = Number(r.stdout.split(/\s/)[0]);
  if (!Number.isFinite(n)) throw new BenchError(`du -sb ${dir} printed "${r.stdout.trim()}"`);
  return n;
}

/** Byte-for-byte comparison; a difference fails the bench. */
export async function assertSameBytes(expected: string, actual: string, what: string): Promise<void> {
  try {
    await run(['cmp', expected, actual]);
  } catch (e) {
    throw new BenchError(`RESTORE MISMATCH (${what}): ${actual} differs from ${expected}\n${(e as Error).message}`);
  }
}

export { quote };
