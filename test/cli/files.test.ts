/**
 * `ls` and `dump` (docs/FILES.md) against the truth: a folder made into real disks with mke2fs -d,
 * sgdisk and parted, backed up raw and as QCOW2; every file listed and dumped is compared with the
 * source folder (content, mode, size, mtime, symlinks, a file with holes, a directory of 10,000
 * entries), and `ls` with what GNU ls prints for the source.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, utimesSync, chmodSync, writeFileSync, existsSync, truncateSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gptDisk, makeFileSystem, mbrDisk, sh } from '../engine/disk/fixtures';
import { tempDir } from '../helpers';
import { WEAK_KDF, jsonLines, runCli, summaryOf } from './spawn-cli';

// Listing and dumping 10,000 entries through libext2fs costs ~10–30 s on a loaded 2-core machine.
jest.setTimeout(240_000);

let dir: { path: string; cleanup: () => Promise<void> };
let tree: string;
let repo: string;
const env = { SCW_BACKUP_PASSWORD: 'pw-files-passphrase', TZ: 'UTC' };
const MANY = 10000;
const snaps: Record<string, string> = {};

const cli = (...args: string[]) => runCli([args[0], '--repo', repo, ...args.slice(1)], env);

function makeTree(root: string): void {
  mkdirSync(join(root, 'sub/deeper/deepest'), { recursive: true });
  mkdirSync(join(root, 'many'));
  writeFileSync(join(root, 'hello.txt'), 'hello, world\n');
  writeFileSync(join(root, 'setuid-bin'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'setuid-bin'), 0o4755);
  writeFileSync(join(root, 'private'), 'secret\n');
  chmodSync(join(root, 'private'), 0o600);
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'random.bin'), randomBytes(3 << 20));
  // Data at 0, 2 MiB and the end of 5 MiB; the rest holes.
  writeFileSync(join(root, 'holes.bin'), 'start');
  truncateSync(join(root, 'holes.bin'), 5 << 20);
  const fd = require('node:fs').openSync(join(root, 'holes.bin'), 'r+');
  require('node:fs').writeSync(fd, Buffer.from('middle'), 0, 6, 2 << 20);
  require('node:fs').writeSync(fd, Buffer.from('end'), 0, 3, (5 << 20) - 3);
  require('node:fs').closeSync(fd);
  writeFileSync(join(root, 'sub/deeper/deepest/file.txt'), 'deep\n');
  symlinkSync('hello.txt', join(root, 'link-rel'));
  symlinkSync('/etc/passwd', join(root, 'link-abs'));
  symlinkSync('../../../../etc/passwd', join(root, 'sub/escape'));
  for (let i = 0; i < MANY; i++) writeFileSync(join(root, 'many', `f${String(i).padStart(5, '0')}`), i % 7 === 0 ? `${i}\n` : '');
  sh('mkfifo', [join(root, 'fifo')]);
  utimesSync(join(root, 'hello.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  utimesSync(join(root, 'sub/deeper'), new Date('2019-05-06T07:08:09Z'), new Date('2019-05-06T07:08:09Z'));
}

beforeAll(async () => {
  dir = await tempDir('scwb-files-');
  tree = join(dir.path, 'tree');
  mkdirSync(tree);
  makeTree(tree);
  const small = join(dir.path, 'small');
  mkdirSync(small);
  writeFileSync(join(small, 'only.txt'), 'only\n');
  const gpt = gptDisk(dir.path, 'gpt.img', 96, tree);
  execFileSync('qemu-img', ['convert', '-O', 'qcow2', gpt, join(dir.path, 'gpt.qcow2')]);
  const mbr = mbrDisk(dir.path, 'mbr.img', small, small);
  const whole = join(dir.path, 'whole.img');
  makeFileSystem(whole, 'ext3', 16 << 20, small);
  // An ext4 file system cut short: its superblock says 32 MiB, the disk holds 8.
  const cut = join(dir.path, 'cut.img');
  const cutFrom = join(dir.path, 'cut-from');
  mkdirSync(cutFrom);
  // Content that lands past 8 MiB: the free blocks mke2fs picks for a large file are beyond the first groups.
  writeFileSync(join(cutFrom, 'random.bin'), randomBytes(20 << 20));
  makeFileSystem(cut, 'ext4', 32 << 20, cutFrom);
  truncateSync(cut, 8 << 20);
  repo = join(dir.path, 'store');
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
  for (const [name, path] of Object.entries({ gpt, qcow2: join(dir.path, 'gpt.qcow2'), mbr, whole, cut })) {
    const r = await cli('backup', '--json', path);
    expect(r.stderr).toBe('');
    snaps[name] = summaryOf(r.stdout).snapshotId as string;
  }
}, 180_000);
afterAll(() => dir.cleanup());

/** Every path below `root` (relative, sorted), with what a dump must keep of it. */
function describe_(root: string, skip: (rel: string) => boolean): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(root, p);
      if (skip(rel)) continue;
      const st = lstatSync(p);
      const e: Record<string, unknown> = { type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other', mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isSymbolicLink()) e.target = readlinkSync(p);
      else e.mode = st.mode & 0o7777;
      if (st.isFile()) {
        e.size = st.size;
        e.content = readFileSync(p).toString('base64');
      }
      out.set(rel, e);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

describe.each(['gpt', 'qcow2'])('a GPT disk (EFI + ext4) backed up as %s', (kind) => {
  it('lists its partitions and what they hold', async () => {
    const r = await cli('ls', snaps[kind]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^GPT partition table, 512-byte sectors\npartition 1 .*EFI System \(EFI\)\s+vfat "EFI"\npartition 2 .*Linux filesystem \(root\)\s+ext4\n$/);
    const s = summaryOf((await cli('ls', '--json', snaps[kind])).stdout) as { volumes: Array<{ partition: { number: number }; fs: { type: string } }> };
    expect(s.volumes.map((v) => [v.partition.number, v.fs.type])).toEqual([[1, 'vfat'], [2, 'ext4']]);
  });

  it('ls prints what GNU ls -ln prints for the source folder', async () => {
    for (const sub of ['', 'sub', 'sub/deeper/deepest']) {
      const ours = await cli('ls', `${snaps[kind]}:/${sub}`);
      expect(ours.code).toBe(0);
      const theirs = sh('ls', ['-ln', '--time-style=+%Y-%m-%d %H:%M:%S %z', join(tree, sub)], { LC_ALL: 'C', TZ: 'UTC' }).split('\n').slice(1).filter((l) => l);
      const fields = (line: string) => line.trim().split(/\s+/);
      const oursLines = ours.stdout.trim().split('\n').filter((l) => !/ lost\+found$/.test(l));
      expect(oursLines).toHaveLength(theirs.length);
      oursLines.forEach((line, i) => {
        const [a, b] = [fields(line), fields(theirs[i])];
        // A directory's size and link count depend on the file system holding it; everything else is the same.
        if (a[0].startsWith('d')) expect([a[0], ...a.slice(5)]).toEqual([b[0], ...b.slice(5)]);
        else expect(a).toEqual(b);
      });
    }
  });

  it('ls --json of a directory of 10,000 entries gives each name, size and mtime', async () => {
    const r = await cli('ls', '--json', `${snaps[kind]}:/many`);
    expect(r.code).toBe(0);
    const s = summaryOf(r.stdout) as { directory: boolean; partition: number; entries: Array<{ name: string; size: number; mtime: string; type: string; permissions: string }> };
    expect(s.directory).toBe(true);
    expect(s.partition).toBe(2);
    expect(s.entries).toHaveLength(MANY);
    for (const e of s.entries) {
      const st = lstatSync(join(tree, 'many', e.name));
      expect([e.type, e.size, Date.parse(e.mtime) / 1000]).toEqual(['file', st.size, Math.floor(st.mtimeMs / 1000)]);
    }
    expect(s.entries[0].permissions).toBe('-rw-r--r--');
  });

  it('dump / writes the whole tree as it was (content, modes, times, symlinks, holes), FIFOs left out', async () => {
    const out = join(dir.path, `dump-${kind}`);
    const r = await cli('dump', '--json', `${snaps[kind]}:/`, '--target', out);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.filter((l) => l.type === 'warning').map((l) => l.message)).toEqual(['/fifo is a fifo: not written']);
    expect(summaryOf(r.stdout)).toMatchObject({ skipped: 1, symlinks: 3, files: MANY + 7 });
    const want = describe_(tree, (rel) => rel === 'fifo');
    const got = describe_(out, (rel) => rel === 'lost+found');
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [rel, e] of want) expect({ rel, ...got.get(rel) }).toEqual({ rel, ...e });
    // The holes stay holes.
    expect(lstatSync(join(out, 'holes.bin')).blocks * 512).toBeLessThan(1 << 20);
    // The symlink pointing out of the tree is a symlink, never followed.
    expect(readlinkSync(join(out, 'sub/escape'))).toBe('../../../../etc/passwd');
  });
});

it('dump of one file: to a new name, or into an existing folder; never over anything', async () => {
  const file = join(dir.path, 'one.bin');
  expect((await cli('dump', `${snaps.gpt}:/random.bin`, '--target', file)).code).toBe(0);
  expect(readFileSync(file).equals(readFileSync(join(tree, 'random.bin')))).toBe(true);
  // A sparse file counts its holes in the bytes dumped, whichever way it was read.
  const holes = await cli('dump', '--json', `${snaps.gpt}:/holes.bin`, '--target', join(dir.path, 'holes-one.bin'));
  expect(summaryOf(holes.stdout)).toMatchObject({ files: 1, bytes: 5 << 20 });
  expect(readFileSync(join(dir.path, 'holes-one.bin')).equals(readFileSync(join(tree, 'holes.bin')))).toBe(true);
  const into = join(dir.path, 'into');
  mkdirSync(into);
  expect((await cli('dump', `${snaps.gpt}:sub//deeper/`, '--target', into)).code).toBe(0);
  expect(readFileSync(join(into, 'deeper/deepest/file.txt'), 'utf8')).toBe('deep\n');
  expect(lstatSync(join(into, 'deeper')).mtime.toISOString()).toBe('2019-05-06T07:08:09.000Z');
  const again = await cli('dump', `${snaps.gpt}:/random.bin`, '--target', file);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe(`scw-backup: ${file}: already exists: dump never overwrites; choose another target\n`);
  const link = await cli('dump', `${snaps.gpt}:/link-abs`, '--target', join(dir.path, 'a-link'));
  expect(link.code).toBe(0);
  expect(readlinkSync(join(dir.path, 'a-link'))).toBe('/etc/passwd');
  const notEmpty = await cli('dump', `${snaps.gpt}:/`, '--target', into);
  expect(notEmpty.stderr).toMatch(/is not empty: dump \/ into a new or empty folder/);
});

it('refuses what it cannot read with one line saying what to do', async () => {
  const vfat = await cli('ls', '--partition', '1', `${snaps.gpt}:/`);
  expect([vfat.code, vfat.stderr]).toEqual([1, `scw-backup: partition 1 of snapshot ${snaps.gpt.slice(0, 12)}: holds vfat, only ext2/3/4 is read here: not supported here: use serve --nbd and mount it (docs/FILES.md)\n`]);
  const missing = await cli('ls', `${snaps.gpt}:/no/such`);
  expect([missing.code, missing.stderr]).toEqual([1, `scw-backup: /no/such in partition 2 of snapshot ${snaps.gpt.slice(0, 12)}: no such file or directory\n`]);
  const noPath = await cli('dump', snaps.gpt, '--target', join(dir.path, 'x'));
  expect(noPath.code).toBe(2);
  const noPartition = await cli('ls', `${snaps.gpt}:/`, '--partition', '7');
  expect(noPartition.stderr).toMatch(/has no partition 7 \(its GPT lists 1: vfat, 2: ext4\)/);
});

it('an MBR disk: logical partitions, a choice between two ext file systems, XFS refused', async () => {
  const layout = await cli('ls', snaps.mbr);
  expect(layout.stdout).toMatch(/^MBR partition table.*\npartition 1 .* Linux\s+ext4\npartition 5 .* Linux\s+ext2\npartition 6 .* Linux\s+xfs\n$/);
  const ambiguous = await cli('ls', `${snaps.mbr}:/`);
  expect([ambiguous.code, ambiguous.stderr]).toEqual([2, `scw-backup: --partition: snapshot ${snaps.mbr.slice(0, 12)} holds 2 ext file systems (partitions 1, 5): choose one with --partition N\n`]);
  const five = await cli('ls', '--partition', '5', `${snaps.mbr}:/only.txt`);
  expect(five.stdout).toMatch(/^-rw-r--r-- 1 \d+ \d+ 5 .* \/only\.txt\n$/);
  const xfs = await cli('dump', '--partition', '6', `${snaps.mbr}:/`, '--target', join(dir.path, 'xfs-out'));
  expect(xfs.code).toBe(1);
  expect(xfs.stderr).toMatch(/partition 6 of snapshot \w+: holds xfs, only ext2\/3\/4 is read here: not supported here: use serve --nbd/);
  expect(existsSync(join(dir.path, 'xfs-out'))).toBe(false);
});

it('a file system on the whole disk, and one cut short (damaged): read, and refused in one line', async () => {
  expect((await cli('ls', snaps.whole)).stdout).toMatch(/^no partition table\nwhole disk\s+16\.0 MiB\s+ext3\n$/);
  expect((await cli('ls', `${snaps.whole}:/`)).stdout).toMatch(/ only\.txt\n$/);
  const cut = await cli('dump', `${snaps.cut}:/random.bin`, '--target', join(dir.path, 'cut-out'));
  expect(cut.code).toBe(1);
  expect(cut.stderr).not.toMatch(/unexpected/);
  expect(cut.stderr.trim().split('\n')).toHaveLength(1);
  expect(cut.stderr).toMatch(/snapshot \w+ is damaged: .*outside its 8388608-byte volume|cannot be (opened|read)/);
  expect(existsSync(join(dir.path, 'cut-out'))).toBe(false);
});
