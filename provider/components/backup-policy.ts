/**
 * Default backup policy per environment and data class, as plain data: a source states where it runs
 * and what it holds, and gets an RPO, a retention and whether to copy to a second store (3-2-1).
 *
 * | environment           | data class                | RPO | keep                              | second store |
 * |-----------------------|---------------------------|-----|-----------------------------------|--------------|
 * | production            | critical, database        | 4h  | 7 daily, 4 weekly, 12 monthly     | yes          |
 * | production            | pii                       | 4h  | 7 daily, 4 weekly                 | yes          |
 * | production            | standard                  | 24h | 7 daily, 4 weekly                 | no           |
 * | staging, development  | any of the above          | 24h | 3 daily                           | no           |
 *
 * PII keeps no monthly snapshots: data erased on request would otherwise live on in backups for a year
 * (GDPR art. 5(1)(e), storage limitation). Retention keys mean what `forget`'s keep-* rules mean.
 */
import { InvalidInputError } from '../../engine';
import type { RetentionInput } from '../source-ops';

export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export const DATA_CLASSES = ['critical', 'database', 'pii', 'standard'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export type DataClass = (typeof DATA_CLASSES)[number];

/** Snapshots to keep per calendar bucket: a BackupSource's `retention`, without `within`. */
export type PolicyRetention = Omit<RetentionInput, 'within'>;

export interface PolicyDefaults {
  /** Recovery point objective: the longest time without a backup, e.g. `4h`, `24h`, `7d`. */
  rpo: string;
  retention: PolicyRetention;
  copyToSecondStore: boolean;
}

export interface PolicyOverrides {
  rpo?: string;
  retention?: PolicyRetention;
  copyToSecondStore?: boolean;
}

const RETENTION_KEYS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const RPO = /^[1-9][0-9]*[mhd]$/;

const PRODUCTION: Record<DataClass, PolicyDefaults> = {
  critical: { rpo: '4h', retention: { daily: 7, weekly: 4, monthly: 12 }, copyToSecondStore: true },
  database: { rpo: '4h', retention: { daily: 7, weekly: 4, monthly: 12 }, copyToSecondStore: true },
  pii: { rpo: '4h', retention: { daily: 7, weekly: 4 }, copyToSecondStore: true },
  standard: { rpo: '24h', retention: { daily: 7, weekly: 4 }, copyToSecondStore: false },
};
const NON_PRODUCTION: PolicyDefaults = { rpo: '24h', retention: { daily: 3 }, copyToSecondStore: false };

/** The default policy; names are matched without regard to case (`PII` = `pii`). */
export function policyFor(environment: string, dataClass: string): PolicyDefaults {
  const env = oneOf('environment', environment, ENVIRONMENTS);
  const cls = oneOf('dataClass', dataClass, DATA_CLASSES);
  return copy(env === 'production' ? PRODUCTION[cls] : NON_PRODUCTION);
}

/**
 * Defaults with overrides applied field by field, retention key by key. An absent or undefined
 * override keeps the default; to drop a default retention rule, override it with 0.
 */
export function mergePolicy(defaults: PolicyDefaults, overrides?: PolicyOverrides): PolicyDefaults {
  const merged = copy(defaults);
  if (overrides === undefined) return merged;
  if (overrides.rpo !== undefined) merged.rpo = checkRpo(overrides.rpo);
  if (overrides.copyToSecondStore !== undefined) {
    if (typeof overrides.copyToSecondStore !== 'boolean') {
      throw new InvalidInputError('copyToSecondStore', `${JSON.stringify(overrides.copyToSecondStore)} is not a boolean; set it to true or false`);
    }
    merged.copyToSecondStore = overrides.copyToSecondStore;
  }
  for (const key of RETENTION_KEYS) {
    const count = overrides.retention?.[key];
    if (count === undefined) continue;
    if (!Number.isInteger(count) || count < 0) {
      throw new InvalidInputError(`retention.${key}`, `${JSON.stringify(count)} is not a count of snapshots; set it to a whole number >= 0`);
    }
    merged.retention[key] = count;
  }
  return merged;
}

function oneOf<T extends string>(input: string, value: string, allowed: readonly T[]): T {
  const v = typeof value === 'string' ? value.toLowerCase() : value;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new InvalidInputError(input, `${JSON.stringify(value)} is not a known ${input}; use one of ${allowed.join(', ')}`);
}

function checkRpo(rpo: string): string {
  if (typeof rpo === 'string' && RPO.test(rpo)) return rpo;
  throw new InvalidInputError('rpo', `${JSON.stringify(rpo)} is not a duration; write a whole number of minutes, hours or days, e.g. 30m, 4h, 7d`);
}

function copy(p: PolicyDefaults): PolicyDefaults {
  return { rpo: p.rpo, retention: { ...p.retention }, copyToSecondStore: p.copyToSecondStore };
}
