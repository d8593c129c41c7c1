/**
 * What a newcomer runs into first (#16): relative paths, init into a folder that holds something,
 * with real processes on folder stores.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prng, tempDir } from '../helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

let dir: { path: string; cleanup: () => Promise<void> };
const env = { SCW_BACKUP_PASSWORD: 'pw-first-hour-passphrase' };
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

describe('every error is one line, and usage errors exit 2', () => {
  const repo = () => join(dir.path, 'errors-store');
  beforeAll(async () => {
    expect((await runCli(['init', '--repo', repo(), ...WEAK_KDF], env)).code).toBe(0);
    await writeFile(join(dir.path, 'small.img'), prng(7)(4 * 64 * 1024));
    expect((await runCli(['backup', '--repo', repo(), join(dir.path, 'small.img')], env)).code).toBe(0);
  });
  const oneLine = (stderr: string) => expect(stderr.trimEnd().split('\n')).toHaveLength(1);

  it('commander\'s own errors', async () => {
    const r = await runCli(['frobnicate'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("scw-backup: unknown command 'frobnicate'\n");
  });

  it('init onto a file, and a short passphrase', async () => {
    const file = join(dir.path, 'a-file');
    await writeFile(file, 'x');
    const r = await runCli(['init', '--repo', file, ...WEAK_KDF], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`scw-backup: ${file}: is a file, not a folder: a store is a folder of its own\n`);
    const short = await runCli(['init', '--repo', join(dir.path, 'short-pass'), ...WEAK_KDF], { SCW_BACKUP_PASSWORD: 'x' });
    expect(short.code).toBe(2);
    expect(short.stderr).toBe('scw-backup: passphrase: has 1 character(s); a new passphrase needs at least 8\n');
    const noNew = await runCli(['key', 'add', '--repo', repo()], { ...env, SCW_BACKUP_NEW_PASSWORD: undefined });
    expect(noNew.code).toBe(2);
    oneLine(noNew.stderr);
  });

  it('restore onto a folder, into a missing folder, and of something that is no snapshot id', async () => {
    const onDir = await runCli(['restore', '--repo', repo(), 'latest', '--target', dir.path, '--overwrite'], env);
    expect(onDir.code).toBe(1);
    expect(onDir.stderr).toBe(`scw-backup: ${dir.path}: is a folder: give the path of the file to write\n`);
    const missing = join(dir.path, 'no', 'such', 'folder', 'x.img');
    const r = await runCli(['restore', '--repo', repo(), 'latest', '--target', missing], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`scw-backup: ${join(dir.path, 'no', 'such', 'folder')} does not exist: create the folder to write x.img into\n`);
    const bad = await runCli(['restore', '--repo', repo(), 'not-an-id', '--target', join(dir.path, 'x.img')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('scw-backup: snapshot: "not-an-id" is not "latest" or a snapshot id (at least 4 hex digits)\n');
  });

  it('a file whose size is not whole sectors gets a warning; check and forget --dry-run say what they did and would do', async () => {
    const odd = join(dir.path, 'odd.img');
    await writeFile(odd, prng(8)(1000));
    const b = await runCli(['backup', '--repo', repo(), odd], env);
    expect(b.code).toBe(0);
    expect(b.stderr).toBe(`warning: ${odd}: 1000 bytes is not a whole number of 512-byte sectors, as a disk image usually is; backed up byte for byte as it is\n`);
    const check = await runCli(['check', '--repo', repo(), '--read-data-subset', '1/1'], env);
    expect(check.stdout).toMatch(/read and verified 2 of 2 pack\(s\) \(subset 1\/1\), \d+ blob\(s\): no errors/);
    const dry = await runCli(['forget', '--repo', repo(), '--keep-last', '1', '--group-by', 'none', '--prune', '--dry-run', '--grace', '0'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/the prune that would follow\n[\s\S]*would free [1-9]/);
    // Nothing was removed.
    const list = summaryOf((await runCli(['snapshots', '--repo', repo(), '--json'], env)).stdout) as { snapshots: unknown[] };
    expect(list.snapshots).toHaveLength(2);
  });
});
