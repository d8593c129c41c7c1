import type { Command } from 'commander';
import { BackupError, InvalidInputError, NotFoundError, WrongPassphraseError } from '../../engine/errors';
import { copySnapshots } from '../../engine/copy';
import { openRepository } from '../../engine/open';
import type { LocationOptions } from '../../engine/location';
import type { Repository } from '../../engine/store/repository';
import { filterFrom, filterOptions, type FilterFlags } from '../snapshot-filter';
import { commonOptions, locationOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { fromFile, getPassphrase } from '../password';

interface CopyFlags extends RepoFlags, FilterFlags {
  to?: string;
  toPasswordFile?: string;
  toS3Endpoint?: string;
  toS3Region?: string;
}

/** The target's passphrase when one is given: --to-password-file (first line), else SCW_BACKUP_TO_PASSWORD. */
async function targetPassphrase(file: string | undefined): Promise<string | undefined> {
  if (file) return fromFile(file, '--to-password-file');
  return process.env.SCW_BACKUP_TO_PASSWORD || undefined;
}

/**
 * Open the target store: with its own passphrase, or, none given, the source's (one passphrase for
 * both stores is common). A target that is not there yet, or that the source's passphrase does not
 * open, gets an error saying what to do.
 */
async function openTarget(flags: CopyFlags, from: Repository, sourcePassphrase: string): Promise<Repository> {
  const location = flags.to as string;
  const given = await targetPassphrase(flags.toPasswordFile);
  try {
    return await openRepository(location, given ?? sourcePassphrase, { location: targetLocation(flags) });
  } catch (err) {
    if (err instanceof NotFoundError) {
      const c = from.config.chunker;
      const chunking = c.kind === 'fixed' ? `--chunker fixed --chunk-size ${c.size}` : `--chunker fastcdc --chunk-size ${c.avg}`;
      throw new NotFoundError(`${err.message}; create the target first, with the source's chunking: scw-backup init --repo ${location} ${chunking}`);
    }
    if (err instanceof WrongPassphraseError && given === undefined) {
      throw new BackupError(err.code, `${err.message}: no passphrase was given for the target, so the source's was tried; give the target's with --to-password-file or SCW_BACKUP_TO_PASSWORD`);
    }
    throw err;
  }
}

/** The target's S3 settings: its own endpoint/region/keys when given, else the source's. */
function targetLocation(flags: CopyFlags): LocationOptions {
  const base = locationOptions(flags).s3 ?? {};
  const key = process.env.SCW_BACKUP_TO_ACCESS_KEY;
  const secret = process.env.SCW_BACKUP_TO_SECRET_KEY;
  if (!!key !== !!secret) throw new InvalidInputError('target S3 credentials', `${key ? 'SCW_BACKUP_TO_ACCESS_KEY' : 'SCW_BACKUP_TO_SECRET_KEY'} is set without its pair: set both`);
  return {
    s3: {
      endpoint: flags.toS3Endpoint ?? base.endpoint,
      region: flags.toS3Region ?? base.region,
      ...(key && secret ? { accessKeyId: key, secretAccessKey: secret } : {}),
    },
  };
}

export function registerCopy(program: Command): void {
  filterOptions(commonOptions(program.command('copy'))
    .description('copy snapshots to another repository (by default every one it does not hold yet)')
    .argument('[snapshot...]', 'snapshots to copy (ids, unique prefixes or "latest")')
    .requiredOption('--to <location>', 'target repository: a folder or s3://BUCKET/PREFIX, created beforehand with the same --chunker and --chunk-size')
    .option('--to-password-file <file>', 'target passphrase from this file (else SCW_BACKUP_TO_PASSWORD, else the source\'s passphrase)')
    .option('--to-s3-endpoint <url>', 'S3 endpoint of the target (default: the source\'s); keys from SCW_BACKUP_TO_ACCESS_KEY/SCW_BACKUP_TO_SECRET_KEY when set')
    .option('--to-s3-region <region>', 'S3 region of the target (default: the source\'s)'), 'source snapshots')
    .action(async (refs: string[], flags: CopyFlags) => {
      const out = new Output(!!flags.json);
      const passphrase = await getPassphrase(flags);
      const from = await openRepo(flags, passphrase);
      const to = await openTarget(flags, from, passphrase);
      const r = await copySnapshots(from, to, { snapshots: refs, filter: filterFrom(flags), onProgress: out.progress(), signal: interruptSignal() });
      out.endProgress();
      for (const d of r.damaged.source) out.warning(`${d.message}; not copied (run "scw-backup check" on the source)`);
      for (const d of r.damaged.target) out.warning(`${d.message}; in the target: what it held cannot be recognised, so it may be copied again`);
      for (const a of r.alreadyThere) out.text(`snapshot ${a.source.slice(0, 12)} is already in the target as ${a.target.slice(0, 12)}`);
      for (const c of r.copied) {
        out.text(`snapshot ${c.source.slice(0, 12)} copied as ${c.target.slice(0, 12)}: ${c.chunks} chunk(s), ${c.chunksReused} known from an earlier copy, ` +
          `${c.chunksRead} read (${formatBytes(c.bytesRead)}), ${formatBytes(c.bytesNew)} new, ${formatBytes(c.bytesStored)} stored`);
      }
      const sum = (k: 'bytesRead' | 'bytesNew' | 'bytesStored'): number => r.copied.reduce((n, c) => n + c[k], 0);
      out.text(`${r.copied.length} snapshot(s) copied, ${r.alreadyThere.length} already there, ${(r.durationMs / 1000).toFixed(1)} s`);
      out.summary('copy', {
        from: from.location, to: to.location, copied: r.copied, alreadyThere: r.alreadyThere, damaged: r.damaged,
        bytesRead: sum('bytesRead'), bytesNew: sum('bytesNew'), bytesStored: sum('bytesStored'), durationMs: r.durationMs,
      });
    });
}
