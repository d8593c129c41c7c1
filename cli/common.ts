import { Option, type Command } from 'commander';
import { InvalidInputError } from '../engine/errors';
import { openRepository } from '../engine/open';
import type { LocationOptions } from '../engine/location';
import type { Repository } from '../engine/store/repository';
import { requireRepo } from './args';
import { Output } from './output';
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
  retainUntil?: string;
}

export function commonOptions(cmd: Command): Command {
  return repoOptions(cmd).option('--json', 'print JSON Lines on stdout: progress lines, then one summary line');
}

/** The repository options without --json (for a command whose --json takes a value: report). */
export function repoOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-r, --repo <location>', 'repository: a folder, or s3://BUCKET/PREFIX (or SCW_BACKUP_REPOSITORY)'))
    .option('--password-file <file>', 'read the passphrase from the first line of this file (else SCW_BACKUP_PASSWORD, else a prompt)')
    .option('--s3-endpoint <url>', 'S3 endpoint (else SCW_BACKUP_S3_ENDPOINT, else https://s3.<region>.scw.cloud)')
    .option('--s3-region <region>', 'S3 region (else SCW_DEFAULT_REGION, else fr-par)')
    .option('--retain-until <date>', 'S3 Object Lock: every object this command writes is kept (GOVERNANCE) until this date, e.g. 2027-12-31');
}

export function locationOptions(flags: RepoFlags): LocationOptions {
  return { s3: { endpoint: flags.s3Endpoint, region: flags.s3Region, retainUntil: parseRetainUntil(flags.retainUntil) } };
}

function parseRetainUntil(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new InvalidInputError('--retain-until', `"${text}" is not an ISO 8601 date (e.g. 2027-12-31 or 2027-12-31T00:00:00Z)`);
  }
  if (date.getTime() <= Date.now()) throw new InvalidInputError('--retain-until', `${text} is in the past`);
  return date;
}

/**
 * The repository named by --repo, opened with the passphrase from --password-file / env / prompt.
 * Key files that cannot be used are named in a warning.
 */
export async function openRepo(flags: RepoFlags, passphrase?: string): Promise<Repository> {
  const location = requireRepo(flags.repo);
  const out = new Output(!!flags.json);
  return openRepository(location, passphrase ?? await getPassphrase(flags), { location: locationOptions(flags), onWarning: (m) => out.warning(m) });
}
