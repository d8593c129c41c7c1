import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * engine/young-generation.ts: V8's flag is process-wide and a worker's start resets it, so the
 * pool's workers set it again. Each case runs in a fresh Node process (flags are per process) on
 * the compiled engine (`npm test` builds dist/ first), starts a two-worker pool, then keeps
 * objects alive in the main isolate long enough for V8 to grow the young generation if it may.
 */
const DIST = join(__dirname, '..', '..', '..', 'dist', 'engine');

function youngGenerationMiB(slowed: boolean): number {
  const script = `
    const v8 = require('node:v8');
    const { slowYoungGenerationGrowth } = require(${JSON.stringify(join(DIST, 'young-generation.js'))});
    const { WorkerPool } = require(${JSON.stringify(join(DIST, 'pipeline', 'worker-pool.js'))});
    const { deriveSubKeys } = require(${JSON.stringify(join(DIST, 'crypto', 'subkeys.js'))});
    const { Batch } = require(${JSON.stringify(join(DIST, 'pipeline', 'batch.js'))});
    if (${slowed}) slowYoungGenerationGrowth();
    const pool = new WorkerPool(deriveSubKeys(new Uint8Array(32), new Uint8Array(32), 2), { workers: 2 });
    // A register round trip: both workers have started and run their setup.
    pool.register(new Batch(1 << 16, 16)).then(async () => {
      let keep = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 2e5) keep = []; }
      const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(space.space_size / 1048576));
      await pool.close();
    });
  `;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

it('stays at its starting size once the workers have started, when the process asked for it', () => {
  expect(youngGenerationMiB(true)).toBeLessThanOrEqual(2);
});

it('grows as V8 likes when the process did not ask (the library leaves V8 alone)', () => {
  // Also shows the measurement can see growth: without the flag the same work grows it.
  expect(youngGenerationMiB(false)).toBeGreaterThan(2);
});
