import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers';

/**
 * cli/main.ts loads only the module of the command a command line names, and command modules import
 * the engine modules they use, not the engine's index (docs/ARCHITECTURE.md "Memory"). The CLI is
 * the compiled one (`npm test` builds first); a preloaded script lists the modules it loaded.
 */
const CLI = resolve(__dirname, '../../bin/scw-backup.js');

let dir: { path: string; cleanup: () => Promise<void> };
let lister: string;
beforeAll(async () => {
  dir = await tempDir();
  lister = join(dir.path, 'list-modules.js');
  await writeFile(lister, `process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n`);
});
afterAll(() => dir.cleanup());

/** Our compiled modules (dist/…) a command line loaded, and its exit code. */
function loaded(args: string[]): { modules: string[]; code: number | null } {
  const r = spawnSync(process.execPath, ['--require', lister, CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = r.stderr.split('\n').find((l) => l.startsWith('MODULES '));
  if (!line) throw new Error(`no module list: ${r.stderr}`);
  const all = JSON.parse(line.slice('MODULES '.length)) as string[];
  const modules = all.filter((m) => !m.includes('node_modules') && m.includes('/dist/')).map((m) => m.slice(m.indexOf('/dist/') + 6));
  return { modules, code: r.status };
}

it('a backup loads its own command and engine modules, not the other commands\' nor the engine index', () => {
  const { modules, code } = loaded(['backup', '--help']);
  expect(code).toBe(0);
  expect(modules).toContain('cli/commands/backup.js');
  expect(modules).toContain('engine/backup.js');
  for (const other of ['cli/commands/prune.js', 'cli/commands/report.js', 'cli/commands/serve.js', 'engine/index.js', 'engine/prune.js', 'engine/serve.js', 'engine/file-restore.js', 'engine/report/index.js']) {
    expect(modules).not.toContain(other);
  }
});

it('help, and a name that is no command, load every command (help lists them, the error suggests one)', () => {
  const help = loaded(['--help']);
  expect(help.code).toBe(0);
  const unknown = loaded(['bakup']);
  expect(unknown.code).toBe(2);
  for (const { modules } of [help, unknown]) {
    for (const name of ['init', 'backup', 'restore', 'prune', 'report', 'drill', 'run']) expect(modules).toContain(`cli/commands/${name}.js`);
  }
});

it('a command registered by another\'s module (drills) is found', () => {
  const { modules, code } = loaded(['drills', '--help']);
  expect(code).toBe(0);
  expect(modules).toContain('cli/commands/drill.js');
  expect(modules).not.toContain('cli/commands/backup.js');
});
