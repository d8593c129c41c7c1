/**
 * `backup --format raw|qcow2` and the rule without it (docs/QCOW2.md "Which format a backup reads",
 * issue #21), through the built CLI: raw disks whose first sector holds a QCOW2 header are stored
 * byte for byte with a warning; the choice and its reason are in the text and JSON reports.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImage, tempDir } from '../helpers';
import { GiB, MiB, writeEmptyDiskLookalike, writeTextMapLookalike } from '../engine/source/qcow2-lookalikes';
import { WEAK_KDF, jsonLines, runCli, summaryOf } from './spawn-cli';

const env = { SCW_BACKUP_PASSWORD: 'pw-format-passphrase' };

let dir: { path: string; cleanup: () => Promise<void> };
let repo: string;
let emptyLookalike: string;
let textLookalike: string;

beforeAll(async () => {
  dir = await tempDir();
  repo = join(dir.path, 'repo');
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
  emptyLookalike = join(dir.path, 'vm-disk.img');
  writeEmptyDiskLookalike(emptyLookalike);
  textLookalike = join(dir.path, 'vm-data.img');
  writeTextMapLookalike(textLookalike);
});
afterAll(() => dir.cleanup());

const backup = (...args: string[]) => runCli(['backup', '--repo', repo, ...args], env);

let restores = 0;
async function restore(snapshotId: string): Promise<string> {
  const target = join(dir.path, `restored-${++restores}.raw`);
  const r = await runCli(['restore', '--repo', repo, snapshotId, '--target', target], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return target;
}

it('(a) backs up a raw disk holding an empty QCOW2 header byte for byte, warns, and says why it read it as raw', async () => {
  const r = await backup(emptyLookalike);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(new RegExp(`^warning: ${emptyLookalike}: starts with the QCOW2 magic[^\n]* --format qcow2\n$`));
  expect(r.stdout).toMatch(/saved: 64\.0 MiB disk read as raw \(not named \.qcow2 and no --format given\)/);
  const id = /snapshot ([0-9a-f]{12}) saved/.exec(r.stdout)?.[1] as string;
  expect(readFileSync(await restore(id)).equals(readFileSync(emptyLookalike))).toBe(true);
});

it('(b) backs up a 1 GiB raw disk whose header maps it onto one cluster of text byte for byte; --json has the warning and the reason', async () => {
  const r = await backup('--json', textLookalike);
  expect(r.code).toBe(0);
  const lines = jsonLines(r.stdout);
  expect(lines.filter((l) => l.type === 'warning')).toEqual([{ type: 'warning', message: expect.stringMatching(/OpenNebula.*disk\.0.*--format qcow2/) }]);
  const summary = summaryOf(r.stdout);
  expect(summary).toMatchObject({ command: 'backup', size: GiB, format: 'raw', formatReason: 'default' });
  const out = await restore(summary.snapshotId as string);
  const cmp = spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', out, textLookalike], { encoding: 'utf8' });
  expect(cmp.stdout).toMatch(/Images are identical/);
  expect(readFileSync(out).length).toBe(GiB);
});

it('--format qcow2 reads the disk the header describes; --format raw does not warn', async () => {
  const q = await backup('--json', '--format', 'qcow2', textLookalike);
  expect(q.code).toBe(0);
  expect(jsonLines(q.stdout).filter((l) => l.type === 'warning')).toEqual([]);
  const summary = summaryOf(q.stdout);
  expect(summary).toMatchObject({ size: GiB, format: 'qcow2', formatReason: 'option' });
  const out = await restore(summary.snapshotId as string);
  expect(spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', out, textLookalike], { encoding: 'utf8' }).stdout).toMatch(/Images are identical/);

  const raw = await backup('--format', 'raw', emptyLookalike);
  expect(raw.code).toBe(0);
  expect(raw.stderr).toBe('');
  expect(raw.stdout).toMatch(/disk read as raw \(--format raw\)/);
});

it('a .qcow2 name means QCOW2; --format qcow2 on a file that is not one is one clear line', async () => {
  const guest = join(dir.path, 'guest.raw');
  writeFileSync(guest, makeImage(3 * MiB, 7));
  const q = join(dir.path, 'guest.qcow2');
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', guest, q]);
  const r = await backup(q);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/saved: 3\.00 MiB disk read as qcow2 \(named \.qcow2\)/);
  const id = /snapshot ([0-9a-f]{12}) saved/.exec(r.stdout)?.[1] as string;
  expect(readFileSync(await restore(id)).equals(readFileSync(guest))).toBe(true);

  const wrong = await backup('--format', 'qcow2', guest);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toBe(`scw-backup: ${guest}: is not a QCOW2 image (it does not start with the magic "QFI\\xfb"), but format qcow2 was asked for; ` +
    'check the path, or back it up as a raw disk (--format raw)\n');

  for (const args of [['--format', 'vmdk', guest], ['--format', 'raw', 'scaleway-block://fr-par-1/11111111-1111-4111-8111-111111111111']]) {
    const bad = await backup(...args);
    expect({ args, code: bad.code }).toEqual({ args, code: 2 });
    expect(bad.stderr).toMatch(/^scw-backup: --format: .*\n$/);
  }
});
