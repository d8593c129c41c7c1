/**
 * Another checkout of this package, in another folder: what a laptop, a self-hosted runner or a
 * renamed repository holds. The built package (package.json, dist/, the native addons) and the
 * examples' Pulumi.yaml files are copied; node_modules is linked (its contents are the same
 * everywhere `npm ci` runs). Programs run from the copy's dist/examples, plugins in its examples/.
 */
import { cp, mkdir, rename, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ProgramSpec } from './program';

export const PACKAGE_ROOT = join(__dirname, '..', '..', '..');

export async function copyCheckout(dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await cp(join(PACKAGE_ROOT, 'package.json'), join(dest, 'package.json'));
  await cp(join(PACKAGE_ROOT, 'dist'), join(dest, 'dist'), { recursive: true });
  const addons = join(PACKAGE_ROOT, 'native', 'build', 'Release');
  if (existsSync(addons)) await cp(addons, join(dest, 'native', 'build', 'Release'), { recursive: true });
  await cp(join(PACKAGE_ROOT, 'examples'), join(dest, 'examples'), { recursive: true, filter: (src) => !src.endsWith('.ts') });
  await symlink(join(PACKAGE_ROOT, 'node_modules'), join(dest, 'node_modules'), 'dir');
}

/** The checkout moved (a renamed repository): the old path no longer exists. */
export async function moveCheckout(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rename(from, to);
}

/** An example program of the checkout at `root`: its Pulumi.yaml folder and compiled program. */
export function exampleIn(root: string, example: string, spec: Omit<ProgramSpec, 'dir' | 'program'>): ProgramSpec {
  return { ...spec, dir: join(root, 'examples', 'pulumi', example), program: join(root, 'dist', 'examples', 'pulumi', example, 'index.js') };
}
