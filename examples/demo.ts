/**
 * `npm run demo`: the main job end to end on the embedded default, a local store folder, with no
 * cloud account. Every step runs the real `scw-backup` CLI, and prints the command it runs.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'bin', 'scw-backup.js');
const store = join(root, 'demo-store');
const work = join(root, 'demo-work');
const image = join(work, 'disk.img');
const restored = join(work, 'restored.img');
const MiB = 1024 * 1024;
const env = { ...process.env, SCW_BACKUP_PASSWORD: process.env.SCW_BACKUP_PASSWORD ?? 'demo-passphrase-change-me' };

function run(...args: string[]): string {
  console.log(`\n$ scw-backup ${args.join(' ')}`);
  const out = execFileSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(out);
  return out;
}

/** A 64 MiB sparse disk: 24 MiB of text-like data, 8 MiB of random data, the rest never written. */
function makeDisk(): void {
  const fd = openSync(image, 'w');
  const line = Buffer.from('scw-backup demo: a line of a log file that compresses well, 0123456789\n');
  const text = Buffer.alloc(MiB);
  for (let i = 0; i < text.length; i++) text[i] = line[i % line.length];
  for (let i = 0; i < 24; i++) writeSync(fd, text, 0, text.length, i * MiB);
  writeSync(fd, randomBytes(8 * MiB), 0, 8 * MiB, 32 * MiB);
  closeSync(fd);
  truncateSync(image, 64 * MiB);
}

/** Change a few scattered 4 KiB blocks, as a running guest would. */
function changeBlocks(): void {
  const fd = openSync(image, 'r+');
  for (const mib of [1, 9, 17, 33, 39]) writeSync(fd, randomBytes(4096), 0, 4096, mib * MiB + 8192);
  closeSync(fd);
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function main(): void {
  console.log('scw-backup demo: a local store in ./demo-store, a sample disk in ./demo-work (both recreated)');
  rmSync(store, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  makeDisk();
  run('init', '--repo', store);
  run('backup', '--repo', store, '--tag', 'environment=development', '--tag', 'dataClass=demo', image);
  changeBlocks();
  console.log('\n(changed 5 scattered 4 KiB blocks of the disk)');
  run('backup', '--repo', store, '--tag', 'environment=development', '--tag', 'dataClass=demo', image);
  run('snapshots', '--repo', store);
  run('restore', '--repo', store, 'latest', '--target', restored);
  run('check', '--repo', store, '--read-data');
  const same = sha(image) === sha(restored);
  console.log(`\nrestored image ${same ? 'is identical to' : 'DIFFERS FROM'} the source, byte for byte (sha256 ${sha(restored).slice(0, 16)}…)`);
  if (!same) process.exit(1);
}

main();
