/**
 * `scw-backup report --html FILE [--json [FILE]] [--since 90d] [--plan PLAN.json]`: the compliance
 * report (docs/REPORT.md): per source, last backup against its RPO, gaps, retention kept, last drill;
 * for the store, growth, dedup and what a prune would free. One self-contained HTML page, and the same
 * facts as JSON.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidInputError } from '../../engine/errors';
import { collectReport, renderReportHtml, type ComplianceReport, type ReportOptions } from '../../engine/report';
import { openRepo, repoOptions, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output } from '../output';
import { loadPlan } from '../plan-file';

interface ReportFlags extends Omit<RepoFlags, 'json'> {
  html?: string;
  /** true: the report in the summary line on stdout; a string: the file to write it to. */
  json?: boolean | string;
  since: string;
  plan?: string;
  /** false with --no-lock */
  lock: boolean;
}

/** "90d", "12w", "36h", or a date ("2026-09-01"): the start of the period. */
export function parseSince(text: string): Pick<ReportOptions, 'periodMs' | 'from'> {
  const m = /^(\d+)([hdw])$/.exec(text.trim());
  if (m && Number(m[1]) > 0) return { periodMs: Number(m[1]) * { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2] as 'h' | 'd' | 'w'] };
  const date = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(date)) return { from: date };
  throw new InvalidInputError('--since', `"${text}" is not a period (90d, 12w, 36h) or a date (2026-09-01)`);
}

async function write(file: string, text: string, option: string): Promise<void> {
  await writeFile(file, text).catch((err: unknown) => {
    throw new InvalidInputError(option, `cannot write ${file}: ${(err as Error).message}`);
  });
}

function printSummary(out: Output, r: ComplianceReport, written: string[]): void {
  const sources = r.groups.reduce((n, g) => n + g.sources.length, 0);
  out.text(`report of ${r.store.location} from ${r.period.from.slice(0, 10)} to ${r.period.to.slice(0, 10)}: ${sources} source(s), ${r.attention.length} need attention`);
  for (const a of r.attention) out.text(`  ${a.name}: ${a.reasons.join('; ')}`);
  for (const d of [...r.damaged.snapshots, ...r.damaged.drills]) out.warning(`${d.message}; skipped (run "scw-backup check")`);
  if (written.length > 0) out.text(`written: ${written.join(', ')}`);
}

export function registerReport(program: Command): void {
  repoOptions(program.command('report'))
    .description('compliance report: per source, last backup against its RPO, gaps, retention, last drill; the store\'s growth and dedup; as one HTML page and JSON')
    .option('--html <file>', 'write the report as one self-contained HTML page (no network needed to open or print it)')
    .option('--json [file]', 'write the report\'s facts as JSON to FILE; without FILE, print them in the summary line (JSON Lines on stdout)')
    .option('--since <period|date>', 'the period the report covers: 90d, 12w, 36h, or a date', '90d')
    .option('--plan <file>', 'the fleet\'s plan: its sources (shown even when never backed up), their schedules as RPOs and their retention')
    .option('--no-lock', 'read without locking the store (a read-only store or key); a prune running meanwhile makes this fail, never read wrong data')
    .action(async (flags: ReportFlags) => {
      const jsonFile = typeof flags.json === 'string' ? flags.json : undefined;
      if (flags.html === undefined && flags.json === undefined) throw new InvalidInputError('--html', 'missing: give --html FILE, --json FILE, or both');
      const out = new Output(flags.json === true);
      const period = parseSince(flags.since);
      const plan = flags.plan !== undefined ? await loadPlan(flags.plan) : undefined;
      const { defaultPolicyByTags, expectedFromPlan } = await import('../report-policy');
      const repo = await openRepo({ ...flags, json: flags.json === true });
      const report = await collectReport(repo, {
        ...period, expected: plan ? expectedFromPlan(plan) : undefined, defaultPolicy: defaultPolicyByTags, noLock: !flags.lock,
        signal: interruptSignal(), onWarning: (m) => out.warning(m),
      });
      const written: string[] = [];
      if (flags.html !== undefined) {
        await write(flags.html, renderReportHtml(report), '--html');
        written.push(flags.html);
      }
      if (jsonFile !== undefined) {
        await write(jsonFile, JSON.stringify(report, null, 2) + '\n', '--json');
        written.push(jsonFile);
      }
      printSummary(out, report, written);
      out.summary('report', { ...report, written });
    });
}
