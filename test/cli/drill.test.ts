/**
 * `scw-backup drill` and `scw-backup drills` through the built CLI: a drill to a scratch file is
 * recorded and listed; a failed drill exits 1 with one line and is recorded too; a damaged record is
 * reported and the listing goes on. Needs a build (`npm test` builds first).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawFileSource, backupImage, initRepository } from '../../engine';
import { PASS, TEST_INIT, makeImage, tempDir, writeImage } from '../helpers';
import { runCli, summaryOf } from './spawn-cli';

let dir: { path: string; cleanup: () => Promise<void> };
let repo: string;
let scratch: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await tempDir('scwb-cli-drill-');
  repo = join(dir.path, 'repo');
  scratch = join(dir.path, 'scratch');
  await mkdir(scratch);
  const r = await initRepository(repo, PASS, TEST_INIT);
  const src = await RawFileSource.open(await writeImage(dir.path, 'web.img', makeImage(3 * 1024 * 1024, 7)));
  await backupImage(r, src, { workers: 0 });
  await src.close();
  env = { SCW_BACKUP_PASSWORD: PASS };
});
afterAll(async () => {
  await dir?.cleanup();
});

test('drill latest: restored to a scratch file, verified, removed, recorded; drills lists it', async () => {
  const d = await runCli(['drill', '--repo', repo, 'latest', '--scratch-dir', scratch, '--json'], env);
  expect(d.stderr).toBe('');
  expect(d.code).toBe(0);
  const s = summaryOf(d.stdout);
  expect(s).toMatchObject({ command: 'drill', result: 'passed', target: 'file', bytesVerified: 3 * 1024 * 1024, source: { location: join(dir.path, 'web.img') } });
  expect(s.rtoSeconds).toBeGreaterThan(0);
  expect(await readdir(scratch)).toEqual([]);

  const text = await runCli(['drills', '--repo', repo], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain(`passed`);
  expect(text.stdout).toContain(String(s.id).slice(0, 12));
  expect(text.stdout).toContain('1 drill(s), 0 failed');
});

test('a failed drill exits 1 with one line and is recorded; a damaged record does not stop the listing', async () => {
  const f = await runCli(['drill', '--repo', repo, 'latest', '--scratch-dir', join(dir.path, 'no-such-dir')], env);
  expect(f.code).toBe(1);
  const lines = f.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^scw-backup: drill of snapshot [0-9a-f]{12} failed: .*no-such-dir.* \(recorded as drills\/[0-9a-f]{12}\)$/);
  expect(f.stdout).toContain(': failed; recorded as drills/');

  await writeFile(join(repo, 'drills', 'ef'.repeat(32)), 'not a record');
  const l = await runCli(['drills', '--repo', repo, '--json'], env);
  expect(l.code).toBe(0);
  const s = summaryOf(l.stdout);
  expect((s.drills as Array<{ result: string }>).map((d) => d.result)).toEqual(['passed', 'failed']);
  expect(s.damaged).toEqual([{ id: 'ef'.repeat(32), message: expect.stringContaining(`drills/${'ef'.repeat(32)}`) }]);
  const bySource = await runCli(['drills', '--repo', repo, '--json', '--source', join(dir.path, 'other.img')], env);
  expect(summaryOf(bySource.stdout).drills).toEqual([]);
});
