/**
 * What RPO a schedule promises (docs/REPORT.md): an RPO schedule ("4h") is one; a cron schedule
 * promises a backup at each firing, so the longest interval between two firings is what it allows
 * (a weekday-only schedule: the weekend). The report and the Pulumi outputs judge by the same rule.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Rpo } from './types';

/** Firings looked at for the longest interval: weeks of a daily schedule, days of an hourly one. */
const CRON_SAMPLE = 200;

export function cronRpo(expression: string, timeZone = 'UTC', from = new Date()): Rpo {
  const it = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: from });
  let prev = it.next().toDate().getTime();
  let longest = 0;
  for (let i = 0; i < CRON_SAMPLE; i++) {
    const next = it.next().toDate().getTime();
    longest = Math.max(longest, next - prev);
    prev = next;
  }
  return { seconds: longest / 1000, text: expression };
}
