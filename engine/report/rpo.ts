/**
 * What RPO a schedule promises (docs/REPORT.md): an RPO schedule ("4h") is one; a cron schedule
 * promises a backup at each firing, so the longest interval between two firings is what it allows
 * (a weekday-only schedule: the weekend). The report and the Pulumi outputs judge by the same rule.
 */
import type { CronExpressionParser } from 'cron-parser';
import type { Rpo } from './types';

/**
 * cron-parser (with luxon) is loaded at the first cron schedule, not with the CLI: it is ~5 MiB of
 * resident memory that a backup or a restore never uses (docs/ARCHITECTURE.md "Memory").
 */
function cronParser(): typeof CronExpressionParser {
  return (require('cron-parser') as typeof import('cron-parser')).CronExpressionParser;
}

/** Firings looked at for the longest interval: weeks of a daily schedule, days of an hourly one. */
const CRON_SAMPLE = 200;

export function cronRpo(expression: string, timeZone = 'UTC', from = new Date()): Rpo {
  const it = cronParser().parse(expression, { tz: timeZone, currentDate: from });
  let prev = it.next().toDate().getTime();
  let longest = 0;
  for (let i = 0; i < CRON_SAMPLE; i++) {
    const next = it.next().toDate().getTime();
    longest = Math.max(longest, next - prev);
    prev = next;
  }
  return { seconds: longest / 1000, text: expression };
}
