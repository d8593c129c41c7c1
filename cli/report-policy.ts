/**
 * What `report` expects of each source, from the plan (its sources, schedules as RPOs, retention)
 * and, for sources the plan does not name, from their tags through the default policy table
 * (provider/components/backup-policy.ts: RPO and retention by environment and data class).
 */
import type { ExpectedSource, SourcePolicy } from '../engine/report';
import { DATA_CLASSES, ENVIRONMENTS, policyFor } from '../provider/components/backup-policy';
import type { Plan } from '../provider/plan';
import { rpoOfSchedule } from '../provider/compliance';
import { parseSchedule } from '../provider/schedule';
import { sourceLocation } from '../provider/source-ops';

export function expectedFromPlan(plan: Plan): ExpectedSource[] {
  return plan.sources.map((s) => ({
    name: s.name,
    location: sourceLocation(s),
    ...(s.environment !== undefined ? { environment: s.environment } : {}),
    ...(s.dataClass !== undefined ? { dataClass: s.dataClass } : {}),
    rpo: rpoOfSchedule(parseSchedule(s.schedule, s.timeZone ?? 'UTC', `plan: ${s.name}.schedule`)),
    ...(s.retention ? { retention: Object.fromEntries(Object.entries(s.retention).filter(([, v]) => v !== undefined)) as Record<string, number | string> } : {}),
  }));
}

/** The default table's policy for a source tagged with an environment and a data class it knows; undefined otherwise. */
export function defaultPolicyByTags(tags: Record<string, string>): SourcePolicy | undefined {
  const known = (list: readonly string[], v: string | undefined): boolean => v !== undefined && list.includes(v.toLowerCase());
  // A name outside the table (a team's own data class) has no default: the report says "no RPO known".
  if (!known(ENVIRONMENTS, tags.environment) || !known(DATA_CLASSES, tags.dataClass)) return undefined;
  const p = policyFor(tags.environment, tags.dataClass);
  return { rpo: rpoOfSchedule(parseSchedule(p.rpo)), retention: { ...p.retention } };
}
