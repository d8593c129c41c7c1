/**
 * Ctrl-C (SIGINT) and SIGTERM in the middle of a backup and of a restore, with real processes on a
 * folder store: the command stops at its next safe point, says so, cleans up what it created (no lock,
 * no temporary file, no unindexed pack, no partial target) and exits 130 or 143; a reader of its output
 * that goes away stops it the same way (SIGPIPE, 141).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, startCli, summaryOf, type RunningCli } from './spawn-cli';

let dir: { path: string; cleanup: () => Promise<void> };
const env = { SCW_BACKUP_PASSWORD: 'pw-interrupt-passphrase' };
beforeAll(async () => {
  dir = await tempDir('scwb-interrupt-');
});
afterAll(() => dir.cleanup());

async function files(path: string): Promise<string[]> {
  if (!existsSync(path)) return [];
  return (await readdir(path, { recursive: true, withFileTypes: true })).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
}

/** Wait until `ready()` holds (polling), then send `signal`; fails if the process ended first. */
async function signalWhen(running: RunningCli, ready: () => Promise<boolean>, signal: NodeJS.Signals): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (running.child.exitCode !== null) throw new Error(`the process ended before it could be interrupted: ${(await running.done).stderr}`);
    if (await ready()) {
      running.child.kill(signal);
      return;
    }
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error('never ready');
}

it.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('a backup stopped by %s cleans up and exits %d', async (signal, code) => {
  const repo = join(dir.path, `store-${signal}`);
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB'], env)).code).toBe(0);
  const image = await writeImage(dir.path, `big-${signal}.img`, randomBytes(160 << 20));
  const backup = startCli(['backup', '--repo', repo, image], env);
  await signalWhen(backup, async () => (await files(join(repo, 'packs'))).length >= 3, signal);
  const r = await backup.done;
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(new RegExp(`scw-backup: ${signal}: stopping at the next safe point and cleaning up`));
  expect(r.stderr).toMatch(new RegExp(`scw-backup: interrupted by ${signal}: backup stopped and released its lock; no snapshot was saved; the data already stored is indexed`));
  expect(await files(join(repo, 'locks'))).toEqual([]);
  expect(await files(join(repo, 'snapshots'))).toEqual([]);
  expect(await files(join(repo, '.tmp'))).toEqual([]);
  // Every pack it stored is indexed (check warns about unindexed ones), and the next backup reuses them.
  const check = await runCli(['check', '--repo', repo, '--json'], env);
  expect(summaryOf(check.stdout)).toMatchObject({ ok: true, errors: [], warnings: [] });
  const again = await runCli(['backup', '--repo', repo, '--json', image], env);
  expect(again.code).toBe(0);
  const stats = summaryOf(again.stdout) as { bytesNew: number; bytesRead: number };
  expect(stats.bytesNew).toBeLessThan(stats.bytesRead);
});

it('a restore stopped by SIGINT removes its partial file and exits 130', async () => {
  const repo = join(dir.path, 'store-restore');
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
  const image = await writeImage(dir.path, 'to-restore.img', randomBytes(160 << 20));
  expect((await runCli(['backup', '--repo', repo, image], env)).code).toBe(0);
  const target = join(dir.path, 'restored.img');
  const restore = startCli(['restore', '--repo', repo, 'latest', '--target', target], env);
  await signalWhen(restore, async () => (await readdir(dir.path)).some((f) => f.startsWith('restored.img.partial-')), 'SIGINT');
  const r = await restore.done;
  expect(r.code).toBe(130);
  expect(r.stderr).toMatch(/interrupted by SIGINT: restore stopped and released its lock; the partial target file was removed/);
  expect((await readdir(dir.path)).filter((f) => f.startsWith('restored.img'))).toEqual([]);
  expect(await files(join(repo, 'locks'))).toEqual([]);
});

it('a reader that goes away (SIGPIPE) stops a backup cleanly, exit 141; a listing whose reader left exits 141 quietly', async () => {
  const repo = join(dir.path, 'store-pipe');
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB'], env)).code).toBe(0);
  const image = await writeImage(dir.path, 'big-pipe.img', randomBytes(160 << 20));
  const backup = startCli(['backup', '--repo', repo, '--json', image], env);
  // The reader of its JSON lines leaves once packs are being stored: the next progress line fails with EPIPE.
  await signalWhen(backup, async () => (await files(join(repo, 'packs'))).length >= 3, 'SIGCONT');
  backup.child.stdout?.destroy();
  const r = await backup.done;
  expect(r.code).toBe(141);
  expect(r.stderr).not.toMatch(/Unhandled 'error' event|EPIPE|at /);
  expect(r.stderr).toMatch(/scw-backup: interrupted by SIGPIPE: backup stopped and released its lock; no snapshot was saved/);
  expect(await files(join(repo, 'locks'))).toEqual([]);
  expect(await files(join(repo, 'snapshots'))).toEqual([]);
  const check = await runCli(['check', '--repo', repo, '--json'], env);
  expect(summaryOf(check.stdout)).toMatchObject({ ok: true, errors: [], warnings: [] });

  // A listing whose reader left before it wrote: 141, and nothing on stderr (as `| head` expects).
  const listing = startCli(['snapshots', '--repo', repo, '--json'], env);
  listing.child.stdout?.destroy();
  const l = await listing.done;
  expect(l.code).toBe(141);
  expect(l.stderr).toBe('');
});
