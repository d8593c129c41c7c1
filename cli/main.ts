import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { BackupError, InterruptedError, UsageError } from '../engine/errors';
import { exitCodeFor, handleInterrupts, interruptSignal, interruptedMessage } from './interrupt';
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, ExitCode } from './common';

type Register = (program: Command) => void;

/**
 * The commands in help's order, each with the module that registers it. A command line loads only the
 * module of the command it names (and what that module imports): no command needs the others' engine
 * modules, and each loaded module costs start-up time and memory (docs/ARCHITECTURE.md "Memory").
 * Help, a bare `scw-backup` and an unknown name load them all.
 */
const COMMANDS: ReadonlyArray<[names: readonly string[], load: () => Register]> = [
  [['init'], () => (require('./commands/init') as typeof import('./commands/init')).registerInit],
  [['backup'], () => (require('./commands/backup') as typeof import('./commands/backup')).registerBackup],
  [['snapshots'], () => (require('./commands/snapshots') as typeof import('./commands/snapshots')).registerSnapshots],
  [['restore'], () => (require('./commands/restore') as typeof import('./commands/restore')).registerRestore],
  [['ls'], () => (require('./commands/ls') as typeof import('./commands/ls')).registerLs],
  [['dump'], () => (require('./commands/dump') as typeof import('./commands/dump')).registerDump],
  [['serve'], () => (require('./commands/serve') as typeof import('./commands/serve')).registerServe],
  [['check'], () => (require('./commands/check') as typeof import('./commands/check')).registerCheck],
  [['key'], () => (require('./commands/key') as typeof import('./commands/key')).registerKey],
  [['forget'], () => (require('./commands/forget') as typeof import('./commands/forget')).registerForget],
  [['prune'], () => (require('./commands/prune') as typeof import('./commands/prune')).registerPrune],
  [['compact'], () => (require('./commands/compact') as typeof import('./commands/compact')).registerCompact],
  [['copy'], () => (require('./commands/copy') as typeof import('./commands/copy')).registerCopy],
  [['unlock'], () => (require('./commands/unlock') as typeof import('./commands/unlock')).registerUnlock],
  [['run'], () => (require('./commands/run') as typeof import('./commands/run')).registerRun],
  [['drill', 'drills'], () => (require('./commands/drill') as typeof import('./commands/drill')).registerDrill],
  [['report'], () => (require('./commands/report') as typeof import('./commands/report')).registerReport],
];

/** The version in the nearest package.json above this file (works from src and from dist). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/** The program with every command, or with only the one `argv` (process.argv's form) names. */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command('scw-backup')
    .description('Deduplicating, encrypted backups of disk images (raw, QCOW2) into a local folder or S3')
    .version(packageVersion())
    .exitOverride()
    // Commander's own messages ("error: unknown command 'x'") in our one-line form.
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'scw-backup: ')) });
  // The program itself takes no option but --help and --version: its first other word is the command.
  const named = argv?.slice(2).find((word) => !word.startsWith('-'));
  const only = COMMANDS.filter(([names]) => named !== undefined && names.includes(named));
  for (const [, load] of only.length > 0 ? only : COMMANDS) load()(program);
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
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
