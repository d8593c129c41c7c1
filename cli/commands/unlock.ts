import type { Command } from 'commander';
import { describeLock, removeLocks } from '../../engine/store/locks';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { Output } from '../output';
import { failIfNotDeleted } from './prune';

interface UnlockFlags extends RepoFlags {
  removeAll?: boolean;
}

export function registerUnlock(program: Command): void {
  commonOptions(program.command('unlock'))
    .description('remove stale locks (left by processes that died); --remove-all removes every lock')
    .option('--remove-all', 'remove every lock, stale or not: only when you know their holders are gone')
    .action(async (flags: UnlockFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const r = await removeLocks(repo, { all: flags.removeAll });
      for (const l of r.removed) out.text(`removed ${describeLock(l)}`);
      for (const l of r.kept) out.text(`kept ${describeLock(l)} (not stale; --remove-all removes it)`);
      for (const f of r.failed) out.text(`not removed: ${f.lock.path}: ${f.message}`);
      out.text(`${r.removed.length} lock(s) removed, ${r.kept.length} kept`);
      out.summary('unlock', { removed: r.removed, kept: r.kept, failed: r.failed.map((f) => ({ path: f.lock.path, message: f.message })) });
      failIfNotDeleted(r.failed.length, 'lock(s)');
    });
}
