/**
 * .github/workflows/backup.yml as written: its first run must work on a repository set up as its
 * header says. No GitHub runner here, so what it depends on is checked: the Pulumi CLI it installs is
 * the release of the SDK the tests run; every config key the program requires is written by
 * .github/scripts/stack-config.sh (run here against a stand-in `pulumi` that records its calls); the
 * example's cadence is the workflow's cron. (That the first `pulumi up`'s preview passes is
 * plugin-lifecycle.test.ts.)
 */
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers';

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
