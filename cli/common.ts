import { Option, type Command } from 'commander';

/** Exit codes (README "Exit codes"). */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_DAMAGE = 3;

/** Thrown by a command that finished but must exit with a code other than 0. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function commonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-r, --repo <path>', 'repository location (or SCW_BACKUP_REPOSITORY)'))
    .option('--password-file <file>', 'read the passphrase from the first line of this file (else SCW_BACKUP_PASSWORD, else a prompt)')
    .option('--json', 'print JSON Lines on stdout: progress lines, then one summary line');
}

