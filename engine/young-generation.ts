import { setFlagsFromString } from 'node:v8';

/**
 * V8 doubles an isolate's young generation (up to 2 × 16 MiB semi-spaces) whenever enough of its
 * objects survive a scavenge, and those pages stay resident. A growth factor of 1 keeps it at its
 * starting size (2 × 1 MiB) for the pipeline's short-lived objects. V8 flags are per process, and
 * starting a worker thread puts this one back to its default (Node 20, measured: the main
 * isolate's young generation grew 2 → 32 MiB after a `new Worker`, and stayed at 2 MiB when the
 * flag was set again once the worker ran), so each chunk worker sets it again when the main
 * thread had it (WorkerSetup): on the bench disk a restore's peak went 157 → 143 MiB and a first
 * backup's 131 → 125 MiB (medians of 4–5, alternating builds), in times we could not tell apart.
 * docs/ARCHITECTURE.md "Memory" has the budget.
 */
let slowed = false;

export function slowYoungGenerationGrowth(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  slowed = true;
}

/** Whether this process asked for it (the CLI does; the library leaves V8's defaults alone). */
export function youngGenerationGrowthSlowed(): boolean {
  return slowed;
}
