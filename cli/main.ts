import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { BackupError, InterruptedError, UsageError } from '../engine';
import { exitCodeFor, handleInterrupts, interruptSignal, interruptedMessage } from './interrupt';
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, ExitCode } from './common';
import { registerBackup } from './commands/backup';
import { registerCheck } from './commands/check';
import { registerInit } from './commands/init';
import { registerKey } from './commands/key';
import { registerRestore } from './commands/restore';
import { registerSnapshots } from './commands/snapshots';
import { registerCopy } from './commands/copy';
import { registerForget } from './commands/forget';
import { registerPrune } from './commands/prune';
import { registerUnlock } from './commands/unlock';
import { registerCompact } from './commands/compact';
import { registerRun } from './commands/run';
import { registerLs } from './commands/ls';
import { registerDump } from './commands/dump';
import { registerServe } from './commands/serve';
import { registerDrill } from './commands/drill';
import { registerReport } from './commands/report';

/** The version in the nearest package.json above this file (works from src and from dist). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command('scw-backup')
    .description('Deduplicating, encrypted backups of disk images (raw, QCOW2) into a local folder or S3')
    .version(packageVersion())
    .exitOverride()
    // Commander's own messages ("error: unknown command 'x'") in our one-line form.
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'scw-backup: ')) });
  for (const register of [registerInit, registerBackup, registerSnapshots, registerRestore, registerLs, registerDump, registerServe, registerCheck, registerKey, registerForget, registerPrune, registerCompact, registerCopy, registerUnlock, registerRun, registerDrill, registerReport]) register(program);
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const restoreSignals = handleInterrupts();
  try {
    await program.parseAsync(argv);
    // Done, but its output could not all be written (the reader left: SIGPIPE): the exit code says
    // so. A failed write reports itself later, so wait until stdout has taken everything.
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    const late = interruptSignal()?.reason;
    return late instanceof InterruptedError ? exitCodeFor(late.signal) : EXIT_OK;
  } catch (err) {
    const stopped = interruptSignal()?.reason;
    if (err instanceof InterruptedError) {
      process.stderr.write(`scw-backup: ${interruptedMessage(program.args[0], err)}\n`);
      return exitCodeFor(err.signal);
    }
    if (stopped instanceof InterruptedError) {
      // Stopping made something else fail (a request cut short): that is the error to show, and the
      // exit code still says the command was interrupted.
      process.stderr.write(`scw-backup: ${stopped.message}, then: ${err instanceof Error ? err.message : String(err)}\n`);
      return exitCodeFor(stopped.signal);
    }
    if (err instanceof ExitCode) return err.code;
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof BackupError) {
      process.stderr.write(`scw-backup: ${err.message}\n`);
      const option = err.code === 'INVALID_INPUT' && /^--/.test((err as BackupError & { input?: string }).input ?? '');
      return option || err instanceof UsageError ? EXIT_USAGE : EXIT_ERROR;
    }
    // Not one of ours: a bug or an environment failure; keep the stack for the report.
    process.stderr.write(`scw-backup: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_ERROR;
  } finally {
    restoreSignals();
  }
}
