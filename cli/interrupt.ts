import { InterruptedError } from '../engine/errors';

/**
 * SIGINT (Ctrl-C) and SIGTERM (a Serverless Job's timeout, `docker stop`): the running command is
 * asked to stop through an AbortSignal that the engine checks at its safe points (the same points
 * where a lapsed lock stops it: docs/FORMAT.md §9); it then cleans up what it created and releases
 * its lock, and main() exits 130 or 143 as shells expect (128 + the signal's number). A second signal
 * exits at once, without cleaning up.
 *
 * A reader of our output that goes away (`scw-backup snapshots --json | head -1`) is the same: Node
 * ignores SIGPIPE, so the next write to stdout fails with EPIPE, an 'error' event that, unhandled,
 * crashed the command with a stack trace in the middle of its work. It stops the command like a
 * SIGPIPE would, cleanly, and main() exits 141 (128 + 13) as a shell expects of a command whose
 * reader left.
 */
let current: AbortController | undefined;

/** The signal of the command running now (undefined outside main()). */
export function interruptSignal(): AbortSignal | undefined {
  return current?.signal;
}

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGPIPE: 141 };

export function exitCodeFor(signal: string): number {
  return EXIT_CODES[signal] ?? 1;
}

/** Route SIGINT and SIGTERM to a fresh AbortController for one command; returns the undo. */
export function handleInterrupts(): () => void {
  const controller = new AbortController();
  current = controller;
  const on = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`scw-backup: ${signal} again: exiting now, without cleaning up\n`);
      process.exit(exitCodeFor(signal));
    }
    process.stderr.write(`scw-backup: ${signal}: stopping at the next safe point and cleaning up (${signal} again exits at once)\n`);
    controller.abort(new InterruptedError(signal));
  };
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    // Whatever is written after this is lost; the work stops at its next safe point.
    if (!controller.signal.aborted) controller.abort(new InterruptedError(err.code === 'EPIPE' ? 'SIGPIPE' : `an error writing the output (${err.message})`));
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  process.stdout.on('error', onOutputError);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
    process.stdout.off('error', onOutputError);
    if (current === controller) current = undefined;
  };
}

/** What an interrupted command left, by command: said after "interrupted by SIGINT". */
const AFTERMATH: Record<string, string> = {
  backup: 'no snapshot was saved; the data already stored is indexed, so the next backup does not send it again',
  restore: 'the partial target file was removed',
  copy: 'the snapshots reported as copied are in the target; the data stored for the next one is indexed',
  forget: 'the snapshots reported as removed are gone, the others stay',
  prune: 'the store is valid; the next prune finishes the job',
  check: 'nothing was changed',
  run: 'the sources reported as backed up are in the store; each source it stopped removed what it had created (see its line)',
  ls: 'nothing was changed',
  serve: 'its clients were disconnected',
  dump: 'what was written so far stays in the target (a file being written was removed)',
  drill: 'its scratch target was removed and no drill was recorded',
  report: 'no report was written',
};

/**
 * "interrupted by SIGTERM: backup stopped and released its lock; ...". A command that had created
 * things outside the store (Scaleway snapshots, volumes, staging objects) says what it removed, and
 * what it could not, instead of the local aftermath.
 */
export function interruptedMessage(command: string | undefined, err: InterruptedError): string {
  const head = `${err.message}: ${command ?? 'the command'} stopped and released its lock`;
  const cleanup = err.describeCleanup();
  if (cleanup) return `${head}${command === 'backup' ? '; no snapshot was saved' : ''}; ${cleanup}`;
  const after = command ? AFTERMATH[command] : undefined;
  return `${head}${after ? `; ${after}` : ''}`;
}
