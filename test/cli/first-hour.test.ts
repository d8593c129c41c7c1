/**
 * What a newcomer runs into first (#16): relative paths, init into a folder that holds something,
 * with real processes on folder stores.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prng, tempDir } from '../helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

let dir: { path: string; cleanup: () => Promise<void> };
const env = { SCW_BACKUP_PASSWORD: 'pw-first-hour' };
beforeAll(async () => {
  dir = await tempDir('scwb-first-hour-');
});
afterAll(() => dir.cleanup());

it('the same relative name backed up from two folders is two disks: each keeps its snapshot', async () => {
  const repo = join(dir.path, 'store');
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
  for (const [folder, seed] of [['a', 1], ['b', 2]] as const) {
    await mkdir(join(dir.path, folder));
    await writeFile(join(dir.path, folder, 'web.img'), prng(seed)(256 * 1024));
    expect((await runCli(['backup', '--repo', repo, 'web.img'], env, { cwd: join(dir.path, folder) })).code).toBe(0);
  }
  const list = summaryOf((await runCli(['snapshots', '--repo', repo, '--json'], env)).stdout) as { snapshots: Array<{ source: { location: string } }> };
  expect(list.snapshots.map((s) => s.source.location).sort()).toEqual([join(dir.path, 'a', 'web.img'), join(dir.path, 'b', 'web.img')]);
  const forget = await runCli(['forget', '--repo', repo, '--keep-last', '1', '--json'], env);
  expect(summaryOf(forget.stdout)).toMatchObject({ removed: [] });
});

it('init refuses a folder that already holds files, and a file', async () => {
  const tree = join(dir.path, 'src-tree');
  await mkdir(join(tree, 'lib'), { recursive: true });
  await writeFile(join(tree, 'lib', 'main.c'), 'int main(void) { return 0; }\n');
  const r = await runCli(['init', '--repo', tree, ...WEAK_KDF], env);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(`scw-backup: ${tree}: is not empty (it holds lib/main.c, and maybe more): a store needs a new or empty folder or S3 prefix of its own\n`);
  const empty = join(dir.path, 'empty');
  await mkdir(empty);
  expect((await runCli(['init', '--repo', empty, ...WEAK_KDF], env)).code).toBe(0);
});
