import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import { BenchError, GNU_TIME, run } from './exec';

/** Debian packages that provide what the bench shells out to. */
const PACKAGES = ['restic', 'qemu-utils', 'e2fsprogs', 'time'] as const;

/** Programs the bench needs, and the package each comes from. */
const NEEDED: ReadonlyArray<{ program: string; pkg: (typeof PACKAGES)[number] }> = [
  { program: 'restic', pkg: 'restic' },
  { program: 'qemu-img', pkg: 'qemu-utils' },
  { program: 'mke2fs', pkg: 'e2fsprogs' },
  { program: 'e2fsck', pkg: 'e2fsprogs' },
  { program: GNU_TIME, pkg: 'time' },
];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolve a program on PATH, also looking in the sbin folders a non-login root shell may lack. */
export function which(program: string): string | undefined {
  if (program.includes('/')) return isExecutable(program) ? program : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface ToolPaths {
  restic: string;
  qemuImg: string;
  mke2fs: string;
  e2fsck: string;
}

function resolveAll(): { paths: Partial<ToolPaths>; missing: string[] } {
  const missing: string[] = [];
  const found = new Map<string, string>();
  for (const n of NEEDED) {
    const p = which(n.program);
    if (p) found.set(n.program, p);
    else missing.push(n.program);
  }
  return {
    paths: { restic: found.get('restic'), qemuImg: found.get('qemu-img'), mke2fs: found.get('mke2fs'), e2fsck: found.get('e2fsck') },
    missing,
  };
}

/** Find restic, qemu-img, mke2fs and GNU time; install the Debian packages when one is missing. */
export async function ensureTools(log: (line: string) => void): Promise<ToolPaths> {
  let { paths, missing } = resolveAll();
  if (missing.length > 0) {
    const cmd = ['apt-get', 'install', '-y', ...PACKAGES];
    if (process.getuid?.() !== 0) {
      throw new BenchError(`missing ${missing.join(', ')}; run as root, or install them: apt-get update && ${cmd.join(' ')}`);
    }
    log(`missing ${missing.join(', ')} → running: apt-get update && ${cmd.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run(['apt-get', 'update'], { env, inherit: true });
    await run(cmd, { env, inherit: true });
    ({ paths, missing } = resolveAll());
    if (missing.length > 0) throw new BenchError(`still missing after apt-get install: ${missing.join(', ')}`);
  }
  return paths as ToolPaths;
}

export interface ToolVersions {
  restic: string;
  qemuImg: string;
  mke2fs: string;
}

export async function toolVersions(tools: ToolPaths): Promise<ToolVersions> {
  const restic = (await run([tools.restic, 'version'])).stdout.trim();
  const qemu = (await run([tools.qemuImg, '--version'])).stdout.split('\n')[0].trim();
  // mke2fs -V prints its version on stderr.
  const mk = (await run([tools.mke2fs, '-V'])).stderr.split('\n')[0].trim();
  return { restic, qemuImg: qemu, mke2fs: mk };
}
