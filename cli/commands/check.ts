import type { Command } from 'commander';
import { checkRepository } from '../../engine/check';
import { EXIT_DAMAGE, ExitCode, commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output } from '../output';

interface CheckFlags extends RepoFlags {
  readData?: boolean;
  readDataSubset?: string;
  /** false with --no-lock */
  lock: boolean;
}

export function registerCheck(program: Command): void {
  commonOptions(program.command('check'))
    .description('check the repository; exit code 3 when damage is found')
    .option('--read-data', 'also download and verify every pack')
    .option('--read-data-subset <n/m|p%>', 'verify a subset of the packs, e.g. 1/5 or 10%')
    .option('--no-lock', 'read without locking the store (a read-only store or key); a prune running meanwhile makes this fail, never read wrong data')
    .action(async (flags: CheckFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const result = await checkRepository(repo, { readData: flags.readDataSubset ?? flags.readData, onProgress: out.progress(), noLock: !flags.lock, signal: interruptSignal() });
      out.endProgress();
      for (const w of result.warnings) out.text(`warning: ${w.message}`);
      for (const e of result.errors) out.text(`error: ${e.message}`);
      out.text(`${result.snapshots} snapshot(s), ${result.indexFiles} index file(s), ${result.packs} pack(s)` +
        (flags.readData || flags.readDataSubset !== undefined ? `; read and verified ${result.packsRead} of ${result.packs} pack(s)` +
          `${flags.readDataSubset !== undefined ? ` (subset ${flags.readDataSubset})` : ''}, ${result.blobsRead} blob(s)` : '') +
        (result.ok ? ': no errors' : `: ${result.errors.length} error(s)`));
      out.summary('check', { ...result });
      if (!result.ok) throw new ExitCode(EXIT_DAMAGE);
    });
}
