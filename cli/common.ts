import { Option, type Command } from 'commander';
import { openRepository, type LocationOptions, type Repository } from '../engine';
import { requireRepo } from './args';
import { getPassphrase } from './password';

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

/** Options every repository command takes. */
export interface RepoFlags {
  repo?: string;
  passwordFile?: string;
  json?: boolean;
  s3Endpoint?: string;
  s3Region?: string;
}

export function commonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-r, --repo <location>', 'repository: a folder, or s3://BUCKET/PREFIX (or SCW_BACKUP_REPOSITORY)'))
    .option('--password-file <file>', 'read the passphrase from the first line of this file (else SCW_BACKUP_PASSWORD, else a prompt)')
    .option('--s3-endpoint <url>', 'S3 endpoint (else SCW_BACKUP_S3_ENDPOINT, else https://s3.<region>.scw.cloud)')
    .option('--s3-region <region>', 'S3 region (else SCW_DEFAULT_REGION, else fr-par)')
    .option('--json', 'print JSON Lines on stdout: progress lines, then one summary line');
}

export function locationOptions(flags: RepoFlags): LocationOptions {
  return { s3: { endpoint: flags.s3Endpoint, region: flags.s3Region } };
}

/** The repository named by --repo, opened with the passphrase from --password-file / env / prompt. */
export async function openRepo(flags: RepoFlags): Promise<Repository> {
  const location = requireRepo(flags.repo);
  return openRepository(location, await getPassphrase(flags), { location: locationOptions(flags) });
}
