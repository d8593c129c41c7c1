import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { copySnapshots, InvalidInputError, openRepository, type LocationOptions } from '../../engine';
import { collectTag } from '../args';
import { commonOptions, locationOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { prompt } from '../password';

interface CopyFlags extends RepoFlags {
  to?: string;
  toPasswordFile?: string;
  toS3Endpoint?: string;
  toS3Region?: string;
  tag?: Record<string, string>;
}

/** The target's passphrase: --to-password-file (first line), SCW_BACKUP_TO_PASSWORD, or a prompt. */
async function targetPassphrase(file: string | undefined): Promise<string> {
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InvalidInputError('--to-password-file', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const line = text.split(/\r?\n/)[0];
    if (!line) throw new InvalidInputError('--to-password-file', `${file} is empty`);
    return line;
  }
  const env = process.env.SCW_BACKUP_TO_PASSWORD;
  if (env) return env;
  if (!process.stdin.isTTY) throw new InvalidInputError('target passphrase', 'none given: set SCW_BACKUP_TO_PASSWORD or pass --to-password-file');
  const answer = await prompt('enter passphrase for the target repository: ');
  if (!answer) throw new InvalidInputError('target passphrase', 'is empty');
  return answer;
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
  commonOptions(program.command('copy'))
    .description('copy snapshots to another repository (by default every one it does not hold yet)')
    .argument('[snapshot...]', 'snapshots to copy (ids, unique prefixes or "latest")')
    .requiredOption('--to <location>', 'target repository: a folder or s3://BUCKET/PREFIX, created beforehand with the same --chunker and --chunk-size')
    .option('--to-password-file <file>', 'target passphrase from this file (else SCW_BACKUP_TO_PASSWORD, else a prompt)')
    .option('--to-s3-endpoint <url>', 'S3 endpoint of the target (default: the source\'s); keys from SCW_BACKUP_TO_ACCESS_KEY/SCW_BACKUP_TO_SECRET_KEY when set')
    .option('--to-s3-region <region>', 'S3 region of the target (default: the source\'s)')
    .option('--tag <key=value>', 'only source snapshots with this tag (repeatable: all must match)', collectTag)
    .action(async (refs: string[], flags: CopyFlags) => {
      const out = new Output(!!flags.json);
      const from = await openRepo(flags);
      const to = await openRepository(flags.to as string, await targetPassphrase(flags.toPasswordFile), { location: targetLocation(flags) });
      const r = await copySnapshots(from, to, { snapshots: refs, tags: flags.tag, onProgress: out.progress(), signal: interruptSignal() });
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
