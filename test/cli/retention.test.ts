import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openRepository } from '../../engine';
import { makeImage, prng, tempDir, writeImage } from '../helpers';
import { writeForeignLock } from '../engine/retention/helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

const env = { SCW_BACKUP_PASSWORD: 'pw-retention-passphrase' };
let dir: { path: string; cleanup: () => Promise<void> };
let repo: string;
const run = (...args: string[]) => runCli(args, env);

beforeAll(async () => {
  dir = await tempDir('scwb-cli-retention-');
  repo = join(dir.path, 'repo');
  expect((await run('init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB')).code).toBe(0);
});
afterAll(() => dir.cleanup());

async function backup(name: string, data: Buffer, host: string): Promise<string> {
  const path = await writeImage(dir.path, name, data);
  const r = await run('backup', '--repo', repo, '--json', '--host', host, path);
  expect(r.code).toBe(0);
  return summaryOf(r.stdout).snapshotId as string;
}

it('lists the new commands in --help', async () => {
  const help = await run('--help');
  for (const c of ['forget', 'prune', 'copy', 'unlock']) expect(help.stdout).toContain(c);
});

it('refuses a policy that keeps nothing and bad option values, as usage errors', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['forget', '--repo', repo], /no keep rule given/],
    [['forget', '--repo', repo, '--keep-last', '0'], /no keep rule given/],
    [['forget', '--repo', repo, '--keep-daily', 'x'], /--keep-daily: "x"/],
    [['forget', '--repo', repo, '--keep-within', '1w'], /--keep-within: "1w" is not a duration/],
    [['forget', '--repo', repo, '--keep-last', '1', 'abcd1234'], /either snapshot ids or a policy/],
    [['forget', '--repo', repo, '--keep-last', '1', '--group-by', 'paths'], /--group-by/],
    [['prune', '--repo', repo, '--grace', '5m'], /--grace: "5m"/],
    [['prune', '--repo', repo, '--repack-threshold', '120'], /--repack-threshold/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }
  expect((await run('forget', '--repo', repo, '--keep-last', '1', '--time-zone', 'Nowhere/Land')).stderr).toMatch(/Nowhere\/Land/);
});

it('forgets per host and source, says why each snapshot stays, prunes, and the store checks clean', async () => {
  const v = [1, 2, 3].map((s) => makeImage(1 << 20, 100 + s));
  const ids = [];
  for (const img of v) ids.push(await backup('disk.img', img, 'web-1'));
  const other = await backup('db.img', prng(7)(512 * 1024), 'db-1');

  const dry = await run('forget', '--repo', repo, '--keep-last', '2', '--dry-run', '--json');
  expect(dry.code).toBe(0);
  const plan = summaryOf(dry.stdout) as { command: string; dryRun: boolean; removed: string[]; groups: Array<{ key: Record<string, string>; keep: Array<{ id: string; reasons: string[] }> }> };
  expect(plan).toMatchObject({ command: 'forget', dryRun: true, removed: [ids[0]] });
  expect(plan.groups).toHaveLength(2);
  const web = plan.groups.find((g) => g.key.hostname === 'web-1');
  expect(web?.key.location).toMatch(/disk\.img$/);
  expect(web?.keep.map((k) => [k.id, k.reasons])).toEqual([[ids[2], ['last snapshot']], [ids[1], ['last snapshot']]]);
  expect(plan.groups.find((g) => g.key.hostname === 'db-1')?.keep.map((k) => k.id)).toEqual([other]);

  const text = await run('forget', '--repo', repo, '--keep-last', '2', '--dry-run');
  expect(text.stdout).toMatch(/snapshots of host web-1, location .*disk\.img:\nkeep 2 snapshot\(s\):\n .*last snapshot/);
  expect(text.stdout).toMatch(/dry run: would remove 1 snapshot\(s\)/);

  const real = await run('forget', '--repo', repo, '--keep-last', '2', '--prune', '--grace', '0', '--json');
  expect(real.code).toBe(0);
  const done = summaryOf(real.stdout) as { removed: string[]; prune: { snapshots: number; dryRun: boolean } };
  expect(done.removed).toEqual([ids[0]]);
  expect(done.prune).toMatchObject({ snapshots: 3, dryRun: false });

  const check = await run('check', '--repo', repo, '--read-data', '--json');
  expect(check.code).toBe(0);
  expect(summaryOf(check.stdout)).toMatchObject({ ok: true, warnings: [] });
  const out = join(dir.path, 'web.out');
  expect((await run('restore', '--repo', repo, ids[1], '--target', out)).code).toBe(0);
  expect((await readFile(out)).equals(v[1])).toBe(true);

  // Removing given snapshots, then a prune dry run that reports in JSON.
  const byId = await run('forget', '--repo', repo, ids[1].slice(0, 8), '--json');
  expect(summaryOf(byId.stdout)).toMatchObject({ command: 'forget', removed: [ids[1]] });
  const pruneDry = await run('prune', '--repo', repo, '--dry-run', '--grace', '0', '--json');
  expect(pruneDry.code).toBe(0);
  const p = summaryOf(pruneDry.stdout) as { command: string; dryRun: boolean; snapshots: number; bytes: { removed: number } };
  expect(p).toMatchObject({ command: 'prune', dryRun: true, snapshots: 2 });
  expect(p.bytes.removed).toBeGreaterThan(0);
});

it('prune refuses while another process holds a lock, naming it; unlock clears what is safe to clear', async () => {
  const r = await openRepository(repo, env.SCW_BACKUP_PASSWORD);
  await writeForeignLock(r, { hostname: 'ci-runner-9', pid: 777, exclusive: false });
  const refused = await run('prune', '--repo', repo, '--grace', '0');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/cannot start prune: the repository at .* is locked by a non-exclusive lock held by ops@ci-runner-9, pid 777, since 20\d\d-/);
  expect(refused.stderr).not.toMatch(/\n\s+at /);

  const keep = await run('unlock', '--repo', repo, '--json');
  expect(summaryOf(keep.stdout)).toMatchObject({ command: 'unlock', removed: [], kept: [{ hostname: 'ci-runner-9', pid: 777 }] });
  const all = await run('unlock', '--repo', repo, '--remove-all', '--json');
  expect(summaryOf(all.stdout)).toMatchObject({ command: 'unlock', removed: [{ hostname: 'ci-runner-9' }], kept: [] });

  const ok = await run('prune', '--repo', repo, '--grace', '0', '--json');
  expect(ok.code).toBe(0);
  expect(summaryOf(ok.stdout)).toMatchObject({ command: 'prune', dryRun: false, notDeleted: [] });
  expect((await run('check', '--repo', repo, '--read-data')).code).toBe(0);
});
