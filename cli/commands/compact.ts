import type { Command } from 'commander';
import { compactIndex } from '../../engine/compact';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output } from '../output';
import { failIfNotDeleted } from './prune';

export function registerCompact(program: Command): void {
  commonOptions(program.command('compact'))
    .description('merge the index into one table and the snapshot catalog into one object (the store to itself, like prune; removes no data)')
    .action(async (flags: RepoFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const r = await compactIndex(repo, { signal: interruptSignal(), onWarning: (m) => out.warning(m) });
      out.text(r.written > 0
        ? `index: ${r.read} file(s) and table(s) merged into one table of ${r.entries} entries, ${r.removed} removed`
        : `index: already in one piece (${r.entries} entries)`);
      for (const n of r.notDeleted) out.text(`not deleted: ${n.object}: ${n.message}`);
      out.summary('compact', { ...r });
      failIfNotDeleted(r.notDeleted.length, 'object(s)');
    });
}
