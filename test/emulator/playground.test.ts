/**
 * `npm run emulator` prints a walkthrough: it must work as printed, against what the playground
 * creates (a store bucket, a sample volume and a server), with the real CLI.
 */
import { resolve } from 'node:path';
import { runCli } from '../cli/spawn-cli';
import { startPlayground, type Playground } from './playground';

let playground: Playground;
beforeAll(async () => {
  playground = await startPlayground();
});
afterAll(() => playground?.stop());

it('every line of the walkthrough works as printed, in order', async () => {
  expect(playground.walkthrough).toHaveLength(5);
  for (const line of playground.walkthrough) {
    const words = line.split(' ');
    expect(words.slice(0, 2)).toEqual(['node', 'bin/scw-backup.js']);
    const r = await runCli(words.slice(2), playground.env, { cwd: resolve(__dirname, '../..') });
    expect({ line, code: r.code, stderr: r.stderr }).toEqual({ line, code: 0, stderr: '' });
  }
  const last = await runCli(['snapshots', '--repo', 's3://backups/prod', '--json'], playground.env);
  const summary = JSON.parse(last.stdout.trim().split('\n').pop() as string) as { snapshots: Array<{ source: { location: string } }> };
  expect(summary.snapshots.map((s) => s.source.location)).toEqual(expect.arrayContaining([
    `scaleway-block://fr-par-1/${playground.volumeId}`, `scaleway-instance://fr-par-1/${playground.serverId}`,
  ]));
}, 180_000);
