import { spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_KDF } from '../../engine';
import { makeImage, tempDir, writeImage } from '../helpers';

// `npm test` builds first, so this is the CLI exactly as installed by `npm ci`.
const CLI = resolve(__dirname, '../../bin/scw-backup.js');
const WEAK = ['--kdf-memory-kib', '64', '--allow-weak-kdf'];

function run(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SCW_BACKUP_PASSWORD: 'pw-one-passphrase', SCW_BACKUP_REPOSITORY: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

let dir: { path: string; cleanup: () => Promise<void> };
let repo: string;
beforeAll(async () => {
  dir = await tempDir();
  repo = join(dir.path, 'repo');
  expect(run(['init', '--repo', repo, ...WEAK]).code).toBe(0);
});
afterAll(() => dir.cleanup());

it('prints help and version', () => {
  const help = run(['--help']);
  expect(help.code).toBe(0);
  for (const c of ['init', 'backup', 'snapshots', 'restore', 'check', 'key']) expect(help.stdout).toContain(c);
  expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
});

it('init states its real KDF defaults, and a tuned key keeps the default lanes', async () => {
  const help = run(['init', '--help']).stdout.replace(/\s+/g, ' ');
  expect(help).toContain(`(default ${DEFAULT_KDF.memoryKiB} = ${DEFAULT_KDF.memoryKiB / 1024} MiB)`);
  expect(help).toContain(`Argon2id passes (default ${DEFAULT_KDF.time})`);
  const tuned = join(dir.path, 'tuned');
  expect(run(['init', '--repo', tuned, '--kdf-memory-kib', '128', '--allow-weak-kdf']).code).toBe(0);
  const [keyName] = await readdir(join(tuned, 'keys'));
  const key = JSON.parse(await readFile(join(tuned, 'keys', keyName), 'utf8')) as { kdf: { memoryKiB: number; time: number; parallelism: number } };
  expect(key.kdf).toMatchObject({ memoryKiB: 128, time: DEFAULT_KDF.time, parallelism: DEFAULT_KDF.parallelism });
});

it('backs up, lists and restores with JSON Lines output', async () => {
  const img = await writeImage(dir.path, 'a.img', makeImage(2 << 20, 11));
  const b = run(['backup', '--repo', repo, '--json', '--tag', 'environment=staging', img]);
  expect(b.code).toBe(0);
  const lines = jsonLines(b.stdout);
  const summary = lines[lines.length - 1];
  expect(summary).toMatchObject({ type: 'summary', command: 'backup', format: 'raw', size: 2 << 20, tags: { environment: 'staging' } });
  expect(lines.slice(0, -1).every((l) => l.type === 'progress')).toBe(true);

  const list = jsonLines(run(['snapshots', '--repo', repo, '--json', '--tag', 'environment=staging']).stdout);
  const snaps = list[0].snapshots as Array<{ id: string }>;
  expect(snaps.map((s) => s.id)).toEqual([summary.snapshotId]);
  expect(run(['snapshots', '--repo', repo]).stdout).toContain((summary.snapshotId as string).slice(0, 12));

  const target = join(dir.path, 'a.out');
  const r = run(['restore', '--repo', repo, (summary.snapshotId as string).slice(0, 8), '--target', target]);
  expect(r.code).toBe(0);
  expect((await readFile(target)).equals(await readFile(img))).toBe(true);

  const again = run(['restore', '--repo', repo, 'latest', '--target', target]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already exists.*--overwrite/);
  expect(run(['restore', '--repo', repo, 'latest', '--target', target, '--overwrite']).code).toBe(0);
});

it('uses the documented exit codes and never prints a stack trace for a user error', async () => {
  const cases: Array<[string[], Record<string, string | undefined>, number, RegExp]> = [
    [['frobnicate'], {}, 2, /unknown command/],
    [['restore', '--repo', repo], {}, 2, /missing required argument|required option/],
    [['snapshots'], {}, 2, /no repository given/],
    [['snapshots', '--repo', repo], { SCW_BACKUP_PASSWORD: 'wrong' }, 1, /passphrase does not open/],
    [['snapshots', '--repo', repo], { SCW_BACKUP_PASSWORD: undefined }, 2, /SCW_BACKUP_PASSWORD/],
    [['snapshots', '--repo', join(dir.path, 'none')], {}, 1, /no repository at/],
    [['backup', '--repo', repo, join(dir.path, 'missing.img')], {}, 1, /missing\.img/],
    [['restore', '--repo', repo, 'abcdef99', '--target', join(dir.path, 'x')], {}, 1, /no snapshot abcdef99/],
    [['init', '--repo', repo, ...WEAK], {}, 1, /already holds a repository/],
    [['init', '--repo', join(dir.path, 'r2'), '--chunker', 'rabin'], {}, 2, /--chunker/],
  ];
  for (const [args, env, code, message] of cases) {
    const r = run(args, env);
    expect({ args, code: r.code }).toEqual({ args, code });
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }
});

it('reads the passphrase from a file and manages keys', async () => {
  const pwFile = join(dir.path, 'pw2');
  await writeFile(pwFile, 'pw-two-passphrase\n');
  const add = run(['key', 'add', '--repo', repo, '--json'], { SCW_BACKUP_NEW_PASSWORD: 'pw-two-passphrase' });
  expect(add.code).toBe(0);
  const newId = jsonLines(add.stdout)[0].id as string;
  const listed = jsonLines(run(['key', 'list', '--repo', repo, '--json', '--password-file', pwFile]).stdout)[0].keys as Array<{ id: string; current: boolean }>;
  expect(listed).toHaveLength(2);
  expect(listed.find((k) => k.current)?.id).toBe(newId);
  const self = run(['key', 'remove', '--repo', repo, newId.slice(0, 8), '--password-file', pwFile]);
  expect(self.code).toBe(1);
  expect(self.stderr).toMatch(/opened the repository with/);
  expect(run(['key', 'remove', '--repo', repo, newId.slice(0, 8)]).code).toBe(0);
  expect(run(['snapshots', '--repo', repo, '--password-file', pwFile]).code).toBe(1);
  expect(await readdir(join(repo, 'keys'))).toHaveLength(1);
});

it('exits 3 when check finds damage', async () => {
  const img = await writeImage(dir.path, 'c.img', makeImage(1 << 20, 12));
  expect(run(['backup', '--repo', repo, img]).code).toBe(0);
  expect(run(['check', '--repo', repo, '--read-data']).code).toBe(0);
  expect(run(['check', '--repo', repo, '--read-data-subset', '1/2']).code).toBe(0);
  expect(run(['check', '--repo', repo, '--read-data-subset', '3/2']).code).toBe(2);
  const snapDir = join(repo, 'snapshots');
  const [first] = await readdir(snapDir);
  const data = await readFile(join(snapDir, first));
  data[data.length - 1] ^= 1;
  await writeFile(join(snapDir, first), data);
  const r = run(['check', '--repo', repo, '--json']);
  expect(r.code).toBe(3);
  const summary = jsonLines(r.stdout).pop() as { ok: boolean; errors: Array<{ object: string }> };
  expect(summary.ok).toBe(false);
  expect(summary.errors[0].object).toBe(`snapshots/${first}`);
});

it('reads a file named .qcow2 as QCOW2 and restores either format', async () => {
  const { execFileSync } = await import('node:child_process');
  const rawImg = await writeImage(dir.path, 'q.raw', makeImage(3 << 20, 13));
  const q = join(dir.path, 'q.qcow2');
  execFileSync('qemu-img', ['convert', '-O', 'qcow2', rawImg, q]);
  const b = run(['backup', '--repo', repo, '--json', q]);
  expect(b.code).toBe(0);
  const summary = jsonLines(b.stdout).pop() as { snapshotId: string; format: string; size: number };
  expect(summary).toMatchObject({ format: 'qcow2', size: 3 << 20 });
  const outQ = join(dir.path, 'q.out.qcow2');
  expect(run(['restore', '--repo', repo, summary.snapshotId, '--target', outQ, '--format', 'qcow2']).code).toBe(0);
  expect(execFileSync('qemu-img', ['compare', q, outQ], { encoding: 'utf8' })).toMatch(/identical/);
  const outRaw = join(dir.path, 'q.out.raw');
  expect(run(['restore', '--repo', repo, summary.snapshotId, '--target', outRaw]).code).toBe(0);
  expect((await readFile(outRaw)).equals(await readFile(rawImg))).toBe(true);
  expect(run(['restore', '--repo', repo, summary.snapshotId, '--target', outRaw + '2', '--format', 'vmdk']).code).toBe(2);
});
