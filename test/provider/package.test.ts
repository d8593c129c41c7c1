/**
 * The package as a Pulumi project installs it (#16): `npm pack` ships what a project needs and nothing
 * else, the tarball installs into a fresh folder, and that project's example program type-checks with
 * Pulumi's default tsconfig (the `typescript` template's: strict, no skipLibCheck, no esModuleInterop),
 * so our declarations must not expose types that need other settings (zod's, the Scaleway SDK's).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers';

const root = resolve(__dirname, '../..');
const npm = (args: string[], cwd: string): string => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// Pulumi's `typescript` template (pulumi/templates, typescript/tsconfig.json).
const PULUMI_TSCONFIG = {
  compilerOptions: {
    strict: true, outDir: 'bin', target: 'es2020', module: 'commonjs', moduleResolution: 'node', sourceMap: true,
    experimentalDecorators: true, pretty: false, noFallthroughCasesInSwitch: true, noImplicitReturns: true, forceConsistentCasingInFileNames: true,
  },
  files: ['index.ts'],
};

it('packs only what a project needs, installs, and type-checks the examples with Pulumi\'s default tsconfig', async () => {
  const dir = await tempDir('scwb-package-');
  try {
    const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir.path], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/scw-backup.js', 'dist/engine/index.js', 'dist/engine/index.d.ts', 'dist/provider/index.d.ts', 'native/binding.gyp', 'native/install.js', 'README.md']));
    expect(files.filter((f) => /^(test|engine|cli|provider|bench|examples)\/|^dist\/(test|bench|examples)\/|\.map$/.test(f))).toEqual([]);

    const project = join(dir.path, 'infra');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'infra', version: '1.0.0', private: true }));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(PULUMI_TSCONFIG));
    // From npm's cache (npm ci filled it); --ignore-scripts: type-checking needs no compiled binding.
    const versions = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir.path, packed[0].filename),
      `@pulumi/pulumi@${versions.devDependencies['@pulumi/pulumi']}`, `@pulumiverse/scaleway@${versions.devDependencies['@pulumiverse/scaleway']}`,
      `typescript@${versions.devDependencies.typescript}`, '@types/node@20'], project);
    for (const example of ['single-volume', 'environment', 'restore-drill']) {
      copyFileSync(join(root, 'examples', 'pulumi', example, 'index.ts'), join(project, 'index.ts'));
      let out = '';
      try {
        out = execFileSync(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', project], { encoding: 'utf8' });
      } catch (err) {
        out = String((err as { stdout?: string }).stdout ?? err);
      }
      expect({ example, errors: out.split('\n').filter((l) => / error TS/.test(l)).slice(0, 10) }).toEqual({ example, errors: [] });
    }
  } finally {
    await dir.cleanup();
  }
}, 300_000);
