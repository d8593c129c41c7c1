/**
 * Which format a local image is read as (docs/QCOW2.md "Which format a backup reads", issue #21):
 * what the caller says or the file's name, never the guest-written content alone. A raw disk whose
 * first sector holds a QCOW2 header is backed up byte for byte, with a warning.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupError, backupImage, initRepository, openDiskImage, restoreImage, type OpenImageOptions, type Repository, type Snapshot,
} from '../../../engine';
import { PASS, TEST_INIT, makeImage, tempDir } from '../../helpers';
import { GiB, MiB, writeEmptyDiskLookalike, writeTextMapLookalike } from './qcow2-lookalikes';

const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let dir: { path: string; cleanup: () => Promise<void> };
let repo: Repository;
let emptyLookalike: string;
let textLookalike: string;

beforeAll(async () => {
  dir = await tempDir();
  repo = await initRepository(join(dir.path, 'repo'), PASS, TEST_INIT);
  emptyLookalike = join(dir.path, 'web.img');
  writeEmptyDiskLookalike(emptyLookalike);
  textLookalike = join(dir.path, 'data.img');
  writeTextMapLookalike(textLookalike);
});
afterAll(() => dir.cleanup());

async function backup(path: string, options: OpenImageOptions = {}): Promise<{ snap: Snapshot; warnings: string[] }> {
  const warnings: string[] = [];
  const source = await openDiskImage(path, { ...options, onWarning: (m) => warnings.push(m) });
  try {
    return { snap: await backupImage(repo, source, { workers: 0 }), warnings };
  } finally {
    await source.close();
  }
}

let restores = 0;
async function restore(snap: Snapshot): Promise<string> {
  const out = join(dir.path, `restored-${++restores}.raw`);
  await restoreImage(repo, snap, out);
  return out;
}

/** Same length and same bytes (qemu-img compare reads sparse files quickly; holes read as zeros). */
function expectSameDisk(actual: string, actualFormat: string, expected: string, expectedFormat: string): void {
  const r = spawnSync('qemu-img', ['compare', '-f', actualFormat, '-F', expectedFormat, actual, expected], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toMatch(/Images are identical/);
  const size = (file: string, format: string) => (JSON.parse(qemuImg('info', '--output=json', '-f', format, file)) as { 'virtual-size': number })['virtual-size'];
  expect(size(actual, actualFormat)).toBe(size(expected, expectedFormat));
}

describe('the fixtures are what the issue describes', () => {
  it('qemu reads each lookalike as a clean QCOW2 of the disk its header describes', () => {
    for (const [file, size] of [[emptyLookalike, 64 * MiB], [textLookalike, GiB]] as const) {
      expect(spawnSync('qemu-img', ['check', '-f', 'qcow2', file], { encoding: 'utf8' }).stdout).toMatch(/No errors were found/);
      expect(JSON.parse(qemuImg('info', '--output=json', '-f', 'qcow2', file))).toMatchObject({ format: 'qcow2', 'virtual-size': size });
    }
    // Read as QCOW2, (a) is all zeros and (b) starts with the text: neither is the raw disk.
    const asQcow2 = join(dir.path, 'a-as-qcow2.raw');
    qemuImg('convert', '-f', 'qcow2', '-O', 'raw', emptyLookalike, asQcow2);
    expect(spawnSync('cmp', ['-s', asQcow2, emptyLookalike]).status).toBe(1);
    expect(spawnSync('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', textLookalike, textLookalike], { encoding: 'utf8' }).stdout).toMatch(/Content mismatch at offset 0!/);
  });
});

describe('without a format, a file not named .qcow2 is raw, whatever its first sector says', () => {
  it('(a) a raw disk holding the header of an empty QCOW2: stored byte for byte, with a warning', async () => {
    const { snap, warnings } = await backup(emptyLookalike);
    expect(snap.size).toBe(64 * MiB);
    expect(snap.source).toEqual({ format: 'raw', formatReason: 'default', location: emptyLookalike });
    expect(readFileSync(await restore(snap)).equals(readFileSync(emptyLookalike))).toBe(true);
    expect(warnings).toHaveLength(1);
    // It names the file, the choice made and what a QCOW2 user without the extension must pass.
    expect(warnings[0]).toContain(emptyLookalike);
    expect(warnings[0]).toMatch(/starts with the QCOW2 magic/);
    expect(warnings[0]).toMatch(/backed up as a raw disk, byte for byte/);
    expect(warnings[0]).toMatch(/OpenNebula.*disk\.0.*--format qcow2/);
  });

  it('(b) a 1 GiB raw disk holding a header that maps it all onto one cluster of text: stored byte for byte', async () => {
    const { snap, warnings } = await backup(textLookalike);
    expect(snap.size).toBe(GiB);
    expect(snap.source).toMatchObject({ format: 'raw', formatReason: 'default' });
    expect(snap.stats.bytesRead).toBeLessThan(4 * MiB); // the file's holes are not read
    expectSameDisk(await restore(snap), 'raw', textLookalike, 'raw');
    expect(warnings).toEqual([expect.stringMatching(/--format qcow2/)]);
  });

  it('format raw: the same, without a warning (the caller said what the file is)', async () => {
    const { snap, warnings } = await backup(emptyLookalike, { format: 'raw' });
    expect(snap.source).toEqual({ format: 'raw', formatReason: 'option', location: emptyLookalike });
    expect(warnings).toEqual([]);
    expect(readFileSync(await restore(snap)).equals(readFileSync(emptyLookalike))).toBe(true);
  });

  it('a file without the magic: raw, no warning', async () => {
    const plain = join(dir.path, 'plain.img');
    writeFileSync(plain, makeImage(MiB, 3));
    const { snap, warnings } = await backup(plain);
    expect(snap.source).toMatchObject({ format: 'raw', formatReason: 'default' });
    expect(warnings).toEqual([]);
  });
});

describe('format qcow2, or a .qcow2 name, reads the disk a QCOW2 describes', () => {
  it('format qcow2 on the lookalikes reads what their headers describe, as qemu-img does', async () => {
    for (const file of [emptyLookalike, textLookalike]) {
      const { snap, warnings } = await backup(file, { format: 'qcow2' });
      expect(snap.source).toEqual({ format: 'qcow2', formatReason: 'option', location: file });
      expect(warnings).toEqual([]);
      expectSameDisk(await restore(snap), 'raw', file, 'qcow2');
    }
  });

  it('an image made by qemu-img with an OpenNebula name (disk.0): raw with a warning, or QCOW2 when asked', async () => {
    const disk0 = join(dir.path, 'disk.0');
    qemuImg('create', '-q', '-f', 'qcow2', disk0, '16M');
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 1M 192k', '-c', 'write -P 0xa5 9M 64k', disk0], { stdio: 'ignore' });

    const asRaw = await backup(disk0);
    expect(asRaw.snap.source).toMatchObject({ format: 'raw', formatReason: 'default' });
    expect(asRaw.snap.size).toBe(statSync(disk0).size);
    expect(asRaw.warnings[0]).toMatch(/disk\.0.*--format qcow2/s);
    expect(readFileSync(await restore(asRaw.snap)).equals(readFileSync(disk0))).toBe(true);

    const asQcow2 = await backup(disk0, { format: 'qcow2' });
    expect(asQcow2.snap.source).toMatchObject({ format: 'qcow2', formatReason: 'option' });
    expect(asQcow2.snap.size).toBe(16 * MiB);
    expect(asQcow2.warnings).toEqual([]);
    expectSameDisk(await restore(asQcow2.snap), 'raw', disk0, 'qcow2');
  });

  it('a real QCOW2 named .qcow2 (any case) is read as QCOW2: the guest disk is stored', async () => {
    const guest = join(dir.path, 'guest.raw');
    writeFileSync(guest, makeImage(4 * MiB, 21));
    for (const name of ['guest.qcow2', 'GUEST2.QCOW2']) {
      const q = join(dir.path, name);
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', guest, q);
      const { snap, warnings } = await backup(q);
      expect(snap.source).toEqual({ format: 'qcow2', formatReason: 'file-name', location: q });
      expect(warnings).toEqual([]);
      expect(readFileSync(await restore(snap)).equals(readFileSync(guest))).toBe(true);
    }
  });

  it('refuses, naming the file, a QCOW2 format asked for or named for a file that is not QCOW2', async () => {
    const plain = join(dir.path, 'plain-disk.img');
    writeFileSync(plain, makeImage(MiB, 5));
    const asked = await backup(plain, { format: 'qcow2' }).catch((e: unknown) => e);
    expect(asked).toBeInstanceOf(BackupError);
    expect(asked).toMatchObject({ code: 'WRONG_FORMAT' });
    expect((asked as Error).message).toBe(
      `${plain}: is not a QCOW2 image (it does not start with the magic "QFI\\xfb"), but format qcow2 was asked for; ` +
      'check the path, or back it up as a raw disk (--format raw)',
    );

    const named = join(dir.path, 'misnamed.qcow2');
    copyFileSync(plain, named);
    const byName = await backup(named).catch((e: unknown) => e);
    expect(byName).toMatchObject({ code: 'WRONG_FORMAT' });
    expect((byName as Error).message).toMatch(new RegExp(`^${named.replace(/[.]/g, '\\.')}: is not a QCOW2 image .*, but its name ends in \\.qcow2; .*--format raw`));
    const { snap } = await backup(named, { format: 'raw' });
    expect(snap.source).toMatchObject({ format: 'raw', formatReason: 'option' });
    expect(readFileSync(await restore(snap)).equals(readFileSync(plain))).toBe(true);
  });
});
