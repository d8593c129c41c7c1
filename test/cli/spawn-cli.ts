/**
 * Run the built CLI in a child process, asynchronously: the S3 test server lives in the jest
 * process and must keep answering while the child runs (spawnSync would block it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve(__dirname, '../../bin/scw-backup.js');
export const WEAK_KDF = ['--kdf-memory-kib', '64', '--allow-weak-kdf'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, SCW_BACKUP_REPOSITORY: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, env, options).done;
}

/** The JSON Lines of a --json run. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The one summary line of a --json run (checked to be the last line, and the only summary). */
export function summaryOf(stdout: string): Record<string, unknown> {
  const lines = jsonLines(stdout);
  const summaries = lines.filter((l) => l.type === 'summary');
  if (summaries.length !== 1 || lines[lines.length - 1].type !== 'summary') throw new Error(`expected exactly one summary line, last, in:\n${stdout}`);
  return summaries[0];
}
