/**
 * A fleet's plan (provider/plan.ts) as `run` and `report` take it: from `--plan FILE`, else (for
 * `run`) the SCW_BACKUP_PLAN environment variable; read, parsed and checked, errors naming the input.
 */
import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../engine/errors';
import type { Plan } from '../provider/plan';

async function readPlanText(file: string | undefined, fromEnv: boolean): Promise<{ text: string; file: string }> {
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((err: unknown) => {
      throw new InvalidInputError('--plan', `cannot read ${file}: ${(err as Error).message}`);
    });
    return { text, file };
  }
  const text = fromEnv ? process.env.SCW_BACKUP_PLAN : undefined;
  if (!text) throw new InvalidInputError('--plan', 'no plan: pass --plan FILE or set SCW_BACKUP_PLAN to the plan\'s JSON');
  return { text, file: 'SCW_BACKUP_PLAN' };
}

export async function loadPlan(file: string | undefined, options: { fromEnv?: boolean } = {}): Promise<Plan> {
  const { parsePlan } = await import('../provider/plan');
  const { text, file: name } = await readPlanText(file, !!options.fromEnv);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(name, `is not JSON: ${(err as Error).message}`);
  }
  return parsePlan(json, name);
}
