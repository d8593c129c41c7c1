/**
 * .github/workflows/backup.yml as written: its first run must work on a repository set up as its
 * header says. No GitHub runner here, so what it depends on is checked: the Pulumi CLI it installs is
 * the release of the SDK the tests run; every config key the program requires is written by
 * .github/scripts/stack-config.sh (run here against a stand-in `pulumi` that records its calls); the
 * example's cadence is the workflow's cron; the compliance report step runs, as written, against a
 * store (the built CLI: `npm run build` first) and its files are what the artifact uploads. (That the first `pulumi up`'s preview passes is
 * plugin-lifecycle.test.ts.)
 */
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initRepository } from '../../engine';
import { runCli } from '../cli/spawn-cli';
import { PASS, TEST_INIT, tempDir } from '../helpers';

const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const workflow = readFileSync(join(ROOT, '.github', 'workflows', 'backup.yml'), 'utf8');
const SCRIPT = join(ROOT, '.github', 'scripts', 'stack-config.sh');
const envOf = (name: string): string | undefined => new RegExp(`^  ${name}: (.+)$`, 'm').exec(workflow)?.[1].trim();

it('installs the Pulumi CLI of the same release as the @pulumi/pulumi the package pins, in every job', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  expect(envOf('PULUMI_VERSION')).toBe(pkg.devDependencies['@pulumi/pulumi']);
  const installs = workflow.match(/- uses: pulumi\/actions@v6\n\s+with:\n\s+pulumi-version: \$\{\{ env\.PULUMI_VERSION \}\}/g) ?? [];
  expect(installs).toHaveLength((workflow.match(/- uses: pulumi\/actions@/g) ?? []).length);
});

it('runs the stack-config script, from the program\'s folder, before every pulumi command', () => {
  const program = envOf('PULUMI_PROGRAM') as string;
  expect(existsSync(join(ROOT, program, 'Pulumi.yaml'))).toBe(true);
  const steps = workflow.split(/\n(?=\s+- )/);
  const order = steps.map((s) => (s.includes('stack-config.sh') ? 'config' : /run: pulumi (up|preview)/.test(s) ? 'pulumi' : '')).filter(Boolean);
  expect(order).toEqual(['config', 'pulumi', 'config', 'pulumi']);
  for (const s of steps.filter((x) => x.includes('stack-config.sh'))) expect(s).toContain('working-directory: ${{ env.PULUMI_PROGRAM }}');
});

it('the example is told the workflow\'s cadence: its default is the cron the workflow runs on', () => {
  const cron = /schedule:\n\s+- cron: '([^']+)'/.exec(workflow)?.[1];
  const program = readFileSync(join(ROOT, envOf('PULUMI_PROGRAM') as string, 'index.ts'), 'utf8');
  expect(/config\.get\('cadence'\) \?\? '([^']+)'/.exec(program)?.[1]).toBe(cron);
});

it('pins every action it uses to a release', () => {
  const uses = [...workflow.matchAll(/- uses: (\S+)/g)].map((m) => m[1]);
  expect(uses.length).toBeGreaterThan(0);
  for (const u of uses) expect(u).toMatch(/^[\w-]+\/[\w-]+@v\d+(\.\d+)*$/);
});

describe('the compliance report', () => {
  const job = workflow.slice(workflow.indexOf('\n  up:'), workflow.indexOf('\n  drift:'));
  const steps = job.split(/\n(?=      - )/);
  const at = (test: (s: string) => boolean): number => steps.findIndex(test);
  const report = (): string => steps[at((s) => /run: .*scw-backup\S* report /.test(s))];
  const upload = (): string => steps[at((s) => s.includes('- uses: actions/upload-artifact@'))];

  it('is written after the backups, also when they failed, and uploaded as an artifact', () => {
    const up = at((s) => /run: pulumi up /.test(s));
    expect(up).toBeGreaterThan(0);
    expect(at((s) => /run: .*scw-backup\S* report /.test(s))).toBeGreaterThan(up);
    expect(at((s) => s.includes('- uses: actions/upload-artifact@'))).toBeGreaterThan(at((s) => /run: .*scw-backup\S* report /.test(s)));
    for (const step of [report(), upload()]) expect(step).toContain('if: ${{ !cancelled() }}');
    expect(upload()).toMatch(/- uses: actions\/upload-artifact@v4\n/);
    expect(upload()).toMatch(/path: \|\n\s+report\.html\n\s+report\.json\n/);
    expect(upload()).toContain('if-no-files-found: error');
  });

  it('reads the example\'s store with the stack\'s passphrase', () => {
    const program = readFileSync(join(ROOT, envOf('PULUMI_PROGRAM') as string, 'index.ts'), 'utf8');
    // The example's store is s3://<storeBucket>/<storePrefix>, the prefix defaulting to the stack's name.
    expect(program).toContain("const storePrefix = config.get('storePrefix') ?? pulumi.getStack();");
    expect(program).toContain('url: `s3://${storeBucket}/${storePrefix}`');
    expect(report()).toContain('SCW_BACKUP_REPOSITORY: s3://${{ vars.SCW_BACKUP_STORE_BUCKET }}/${{ env.PULUMI_STACK }}');
    expect(report()).toContain('SCW_BACKUP_PASSWORD: ${{ secrets.SCW_BACKUP_PASSWORD }}');
    expect(job).toContain('STORE_BUCKET: ${{ vars.SCW_BACKUP_STORE_BUCKET }}');
    expect(job).toContain('STORE_PASSPHRASE: ${{ secrets.SCW_BACKUP_PASSWORD }}');
  });

  it('its command, as written, writes the files the artifact uploads (the built CLI, against a folder store)', async () => {
    const command = /run: (.+)/.exec(report())?.[1] as string;
    expect(command).toBe('node bin/scw-backup.js report --html report.html --json report.json');
    const args = command.replace(/^node bin\/scw-backup\.js /, '').split(' ');
    const dir = await tempDir('scwb-workflow-report-');
    try {
      await initRepository(join(dir.path, 'store'), PASS, TEST_INIT);
      const r = await runCli(args, { SCW_BACKUP_REPOSITORY: join(dir.path, 'store'), SCW_BACKUP_PASSWORD: PASS }, { cwd: dir.path });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(await readFile(join(dir.path, 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
      expect(JSON.parse(await readFile(join(dir.path, 'report.json'), 'utf8'))).toMatchObject({ version: 1 });
    } finally {
      await dir.cleanup();
    }
  }, 60_000);
});

describe('stack-config.sh', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('scwb-stack-config-');
    // A stand-in for the CLI: one line per call, its arguments, then what it read on stdin (as the CLI
    // reads the value of `config set KEY` given no value: pkg/cmd/pulumi/config/config.go).
    const fake = join(dir.path, 'pulumi');
    await writeFile(fake, `#!/usr/bin/env bash\nstdin=""\n`
      + `if [ "$1 $2" = "config set" ] && { [ $# -eq 3 ] || [ "$3" = "--secret" -a $# -eq 4 ]; }; then stdin=$(cat); fi\n`
      + `printf '%s|%s\\n' "$*" "$stdin" >> "${join(dir.path, 'calls')}"\n`);
    await chmod(fake, 0o755);
  });
  afterAll(async () => dir?.cleanup());

  const env = {
    PATH: `${process.env.PATH}`, PULUMI_STACK: 'production', SCW_DEFAULT_PROJECT_ID: '11111111-2222-3333-4444-555555555555',
    VOLUME_ID: '22222222-3333-4444-5555-666666666666', STORE_BUCKET: 'acme-backups', STORE_PASSPHRASE: 'a passphrase, not on any command line',
  };

  it('selects or creates the stack and sets every key the program requires; the passphrase only through stdin', async () => {
    await exec(SCRIPT, [], { cwd: dir.path, env: { ...env, PATH: `${dir.path}:${env.PATH}` } });
    const calls = (await readFile(join(dir.path, 'calls'), 'utf8')).trim().split('\n');
    expect(calls).toEqual([
      'stack select --create production|',
      'config set projectId 11111111-2222-3333-4444-555555555555|',
      'config set volumeId 22222222-3333-4444-5555-666666666666|',
      'config set storeBucket acme-backups|',
      'config set --secret storePassphrase|a passphrase, not on any command line',
    ]);
    const program = readFileSync(join(ROOT, envOf('PULUMI_PROGRAM') as string, 'index.ts'), 'utf8');
    const required = [...program.matchAll(/config\.require(?:Secret)?\('([^']+)'\)/g)].map((m) => m[1]).sort();
    const set = calls.map((c) => /config set (?:--secret )?([^\s|]+)/.exec(c)?.[1]).filter(Boolean).sort();
    expect(set).toEqual(required);
  });

  it('stops before any pulumi command when a setting is missing, naming it', async () => {
    const run = exec(SCRIPT, [], { cwd: dir.path, env: { ...env, STORE_BUCKET: '', PATH: `${dir.path}:${env.PATH}` } });
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('STORE_BUCKET is empty: set it in the repository\'s secrets or variables') });
  });
});
