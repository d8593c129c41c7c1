/**
 * `scw-backup run [--plan FILE] [--shard I/N] [--concurrency K]`: take the due backups of a fleet's
 * plan (provider/plan.ts; from FILE, else the SCW_BACKUP_PLAN environment variable), for shard I of
 * N, and apply each source's retention. Secrets come from the environment: SCW_BACKUP_PASSWORD (or
 * --password-file), SCW_ACCESS_KEY, SCW_SECRET_KEY. Exit status 1 when any source failed.
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { parseInteger } from '../args';
import { EXIT_ERROR, ExitCode } from '../common';
import { Output, formatBytes } from '../output';
import { interruptSignal } from '../interrupt';
import { getPassphrase } from '../password';
import { loadPlan } from '../plan-file';

interface RunFlags {
  plan?: string;
  shard?: string;
  concurrency?: string;
  passwordFile?: string;
  json?: boolean;
}

export function registerRun(program: Command): void {
  program.command('run')
    .description('take the due backups of a plan (a fleet\'s sources, schedules and retention), for one shard')
    .option('--plan <file>', 'the plan (JSON); else the SCW_BACKUP_PLAN environment variable')
    .option('--shard <i/n>', 'run shard I of N (1-based): N jobs split the plan\'s sources between them', '1/1')
    .option('--concurrency <k>', 'sources backed up at once', '2')
    .option('--password-file <file>', 'read the store passphrase from the first line of this file (else SCW_BACKUP_PASSWORD)')
    .option('--json', 'print JSON Lines on stdout: one line per source, then one summary line')
    .action(async (flags: RunFlags) => {
      const { parseShard } = await import('../../provider/plan');
      const { runPlan } = await import('../../provider/run-plan');
      const out = new Output(!!flags.json);
      const shard = parseShard(flags.shard ?? '1/1');
      const concurrency = parseInteger(flags.concurrency ?? '2', '--concurrency');
      if (concurrency < 1 || concurrency > 16) throw new InvalidInputError('--concurrency', `${concurrency} is not between 1 and 16`);
      const plan = await loadPlan(flags.plan, { fromEnv: true });
      const passphrase = await getPassphrase({ passwordFile: flags.passwordFile });
      const r = await runPlan(plan, { passphrase, accessKey: process.env.SCW_ACCESS_KEY ?? '', secretKey: process.env.SCW_SECRET_KEY ?? '' }, {
        shard, concurrency, signal: interruptSignal(),
        onSource: (e) => {
          if (e.result === 'started') return;
          if (out.json) process.stdout.write(`${JSON.stringify({ type: 'source', ...e })}\n`);
          else if (e.result === 'backed-up') out.text(`${e.name}: backed up, snapshot ${e.snapshotId?.slice(0, 12)}, ${formatBytes(e.bytesNew ?? 0)} new`);
          else if (e.result === 'not-due') out.text(`${e.name}: not due (next by ${e.dueAt})`);
          else if (e.result === 'interrupted') out.text(`${e.name}: stopped: ${e.error?.message}`);
          else if (e.result === 'not-started') out.text(`${e.name}: not started (the run was stopped)`);
          else out.text(`${e.name}: FAILED: ${e.error?.message}`);
        },
      });
      out.text(`shard ${shard.index}/${shard.count}: ${r.sources.length} source(s), ${r.backedUp} backed up, ${r.notDue} not due, ${r.failed} failed` +
        (r.interrupted ? `, ${r.interrupted} stopped or not started` : ''));
      out.summary('run', { ...r });
      // Stopped: main() says so and exits 130/143, after the summary of what did happen.
      interruptSignal()?.throwIfAborted();
      if (r.failed > 0) throw new ExitCode(EXIT_ERROR);
    });
}
