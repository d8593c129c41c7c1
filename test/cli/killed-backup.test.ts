import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { prng, tempDir, writeImage } from '../helpers';

const CLI = resolve(__dirname, '../../bin/scw-backup.js');
const env = { ...process.env, SCW_BACKUP_PASSWORD: 'pw-passphrase' };

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
}

const count = async (dir: string) => (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).length;

it('a backup killed with SIGKILL leaves a valid store, and the next backup reuses its packs', async () => {
  const dir = await tempDir();
  try {
    const repo = join(dir.path, 'repo');
    // Incompressible data, 1 MiB packs: the backup writes many packs and an index file every 8.
    const img = await writeImage(dir.path, 'disk.img', prng(42)(96 << 20));
    expect(run(['init', '--repo', repo, '--kdf-memory-kib', '64', '--allow-weak-kdf', '--pack-size', '1MiB']).status).toBe(0);

    const child = spawn(process.execPath, [CLI, 'backup', '--repo', repo, img], { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // Kill it as soon as the first index file is there: part-way through, with indexed packs.
    for (let i = 0; i < 2000 && (await count(join(repo, 'index'))) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited;
    expect(await count(join(repo, 'snapshots'))).toBe(0);
    expect(await count(join(repo, 'index'))).toBeGreaterThan(0);

    const check = run(['check', '--repo', repo, '--read-data', '--json']);
    expect(check.status).toBe(0);

    const again = run(['backup', '--repo', repo, '--json', img]);
    expect(again.status).toBe(0);
    const summary = JSON.parse(again.stdout.trim().split('\n').pop() as string) as { bytesNew: number; bytesRead: number };
    expect(summary.bytesNew).toBeLessThan(summary.bytesRead);

    const out = join(dir.path, 'out.img');
    expect(run(['restore', '--repo', repo, 'latest', '--target', out]).status).toBe(0);
    expect((await readFile(out)).equals(await readFile(img))).toBe(true);
    expect(run(['check', '--repo', repo, '--read-data']).status).toBe(0);
  } finally {
    await dir.cleanup();
  }
});
