import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { BenchError, run } from './exec';
import type { ToolPaths } from './tools';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Bump when the recipe changes so cached images are rebuilt. */
const RECIPE_VERSION = 1;

export type DatasetSize = 'full' | 'small';

export interface DatasetSpec {
  recipe: number;
  size: DatasetSize;
  /** Virtual (guest-visible) size of the disk image. */
  virtualSize: number;
  /** Stop copying source files once this many bytes are staged. */
  dataTarget: number;
  /** Folders the files are taken from, round-robin, each walked in sorted order. */
  sourceRoots: string[];
  /** Random writes that turn image 1 into image 2. */
  writes: number;
  writeSize: number;
  /** Writes land at distinct writeSize-aligned offsets below this. */
  writeRegion: number;
  seed: number;
  /** ext4 UUID, fixed so the superblock does not differ run to run for no reason. */
  fsUuid: string;
  /** Seconds since the epoch that mke2fs stamps on the file system (E2FSPROGS_FAKE_TIME). */
  fakeTime: number;
}

export const SPECS: Record<DatasetSize, DatasetSpec> = {
  full: {
    recipe: RECIPE_VERSION,
    size: 'full',
    virtualSize: 4 * GiB,
    dataTarget: Math.round(1.4 * GiB),
    sourceRoots: ['/usr/lib', '/usr/share', '/usr/bin'],
    writes: 200,
    writeSize: 64 * KiB,
    writeRegion: 1.5 * GiB,
    seed: 0x5cb0_0001,
    fsUuid: '5cb0be0c-0000-4000-8000-000000000001',
    fakeTime: 1_767_225_600, // 2026-01-01T00:00:00Z
  },
  small: {
    recipe: RECIPE_VERSION,
    size: 'small',
    virtualSize: 256 * MiB,
    dataTarget: 80 * MiB,
    sourceRoots: ['/usr/lib', '/usr/share', '/usr/bin'],
    writes: 20,
    writeSize: 64 * KiB,
    writeRegion: 96 * MiB,
    seed: 0x5cb0_0002,
    fsUuid: '5cb0be0c-0000-4000-8000-000000000002',
    fakeTime: 1_767_225_600,
  },
};

export interface Dataset {
  spec: DatasetSpec;
  dir: string;
  raw1: string;
  raw2: string;
  qcow1: string;
  qcow2: string;
  /** Regular files copied into the file system, and their total size. */
  files: number;
  dirs: number;
  dataBytes: number;
  /** Files and bytes taken from each source root (absent in manifests of older builds). */
  perRoot?: Record<string, { files: number; bytes: number }>;
  /** writes × writeSize: what the scattered writes replaced. */
  changedBytes: number;
  /** Of those, bytes whose value actually changed (random bytes can match by chance). */
  differingBytes: number;
  writeOffsets: number[];
  /** Blocks allocated to the sparse raw images (st_blocks × 512). */
  raw1AllocatedBytes: number;
  raw2AllocatedBytes: number;
  qcow1FileBytes: number;
  qcow2FileBytes: number;
  buildSeconds: number;
  builtAt: string;
}

/** mulberry32: tiny, seeded, good enough to place writes and fill them with noise. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Distinct, sorted, aligned offsets below region. */
export function pickOffsets(rand: () => number, count: number, blockSize: number, region: number): number[] {
  const slots = Math.floor(region / blockSize);
  if (count > slots) throw new BenchError(`cannot place ${count} distinct ${blockSize}-byte writes in ${region} bytes`);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(rand() % slots);
  return [...chosen].sort((x, y) => x - y).map((s) => s * blockSize);
}

const bySortedName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Regular files under root in sorted depth-first order; symlinks and special files are skipped. */
async function* walk(root: string): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch {
    return; // unreadable folder: skip, the list stays deterministic on the same machine
  }
  entries.sort(bySortedName);
  for (const e of entries) {
    const full = path.join(root, e.name);
    if (e.isDirectory()) yield* walk(full);
    else if (e.isFile()) yield full;
  }
}

/** Round-robin over the roots so even the small dataset mixes libraries, text and binaries. */
async function* interleave(roots: readonly string[]): AsyncGenerator<{ root: string; file: string }> {
  const its = roots.map((root) => ({ root, it: walk(root) }));
  let live = its.slice();
  while (live.length > 0) {
    const next: typeof live = [];
    for (const w of live) {
      const r = await w.it.next();
      if (r.done) continue;
      yield { root: w.root, file: r.value };
      next.push(w);
    }
    live = next;
  }
}

interface Staged {
  files: number;
  dirs: number;
  dataBytes: number;
  perRoot: Record<string, { files: number; bytes: number }>;
}

async function stage(spec: DatasetSpec, staging: string, log: (line: string) => void): Promise<Staged> {
  await fsp.rm(staging, { recursive: true, force: true });
  await fsp.mkdir(staging, { recursive: true });
  const seenInodes = new Set<string>();
  const madeDirs = new Set<string>();
  let files = 0;
  let dataBytes = 0;
  const perRoot: Staged['perRoot'] = {};
  for (const r of spec.sourceRoots) perRoot[r] = { files: 0, bytes: 0 };
  let nextReport = 128 * MiB;
  for await (const { root, file } of interleave(spec.sourceRoots)) {
    // Fill to within 64 KiB of the target without going over it: one big file at the end
    // would otherwise overshoot the small dataset by 15%.
    if (spec.dataTarget - dataBytes < 64 * KiB) break;
    let st;
    try {
      st = await fsp.stat(file);
    } catch {
      continue;
    }
    if (dataBytes + st.size > spec.dataTarget) continue;
    // A hard link seen twice would be one inode in the image: count its bytes once by skipping it.
    const key = `${st.dev}:${st.ino}`;
    if (seenInodes.has(key)) continue;
    seenInodes.add(key);
    const dest = path.join(staging, path.basename(root), path.relative(root, file));
    const dir = path.dirname(dest);
    if (!madeDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      madeDirs.add(dir);
    }
    try {
      await fsp.copyFile(file, dest);
    } catch {
      continue; // vanished or unreadable: skip
    }
    await fsp.utimes(dest, st.atime, st.mtime);
    files++;
    dataBytes += st.size;
    perRoot[root].files++;
    perRoot[root].bytes += st.size;
    if (dataBytes >= nextReport) {
      log(`  staged ${(dataBytes / MiB).toFixed(0)} MiB in ${files} files`);
      nextReport += 128 * MiB;
    }
  }
  // Every folder created, ancestors included (mkdir -p made them too).
  const allDirs = new Set<string>();
  for (const d of madeDirs) {
    for (let p = d; p !== staging && p.startsWith(staging); p = path.dirname(p)) allDirs.add(p);
  }
  const dirs = allDirs.size;
  return { files, dirs, dataBytes, perRoot };
}

function sizeArg(bytes: number): string {
  return bytes % GiB === 0 ? `${bytes / GiB}G` : `${Math.ceil(bytes / MiB)}M`;
}

async function allocated(file: string): Promise<number> {
  return (await fsp.stat(file)).blocks * 512;
}

/** Apply the seeded scattered writes to image (in place); returns bytes that really changed. */
async function scatterWrites(spec: DatasetSpec, image: string): Promise<{ offsets: number[]; differing: number }> {
  const rand = prng(spec.seed);
  const offsets = pickOffsets(rand, spec.writes, spec.writeSize, spec.writeRegion);
  const fresh = Buffer.alloc(spec.writeSize);
  const old = Buffer.alloc(spec.writeSize);
  const words = new Uint32Array(fresh.buffer, fresh.byteOffset, spec.writeSize / 4);
  let differing = 0;
  const fh = await fsp.open(image, 'r+');
  try {
    for (const off of offsets) {
      for (let i = 0; i < words.length; i++) words[i] = rand();
      const { bytesRead } = await fh.read(old, 0, spec.writeSize, off);
      for (let i = 0; i < spec.writeSize; i++) if (i >= bytesRead || old[i] !== fresh[i]) differing++;
      const { bytesWritten } = await fh.write(fresh, 0, spec.writeSize, off);
      if (bytesWritten !== spec.writeSize) throw new BenchError(`short write at ${off} in ${image}`);
    }
  } finally {
    await fh.close();
  }
  return { offsets, differing };
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Reuse bench/work/<size>/ when it was built from the same recipe; otherwise build it. */
export async function ensureDataset(workDir: string, spec: DatasetSpec, tools: ToolPaths, log: (line: string) => void): Promise<Dataset> {
  const dir = path.join(workDir, `dataset-${spec.size}`);
  const names = { raw1: path.join(dir, 'disk1.raw'), raw2: path.join(dir, 'disk2.raw'), qcow1: path.join(dir, 'disk1.qcow2'), qcow2: path.join(dir, 'disk2.qcow2') };
  const manifest = path.join(dir, 'dataset.json');
  if (await exists(manifest)) {
    const cached = JSON.parse(await fsp.readFile(manifest, 'utf8')) as Dataset;
    const files = await Promise.all(Object.values(names).map(exists));
    if (JSON.stringify(cached.spec) === JSON.stringify(spec) && files.every(Boolean)) {
      log(`dataset: reusing ${dir} (built ${cached.builtAt})`);
      return { ...cached, dir, ...names };
    }
    log(`dataset: ${dir} is stale or incomplete, rebuilding`);
  }

  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true });
  const staging = path.join(dir, 'staging');

  log(`dataset: staging ~${(spec.dataTarget / MiB).toFixed(0)} MiB from ${spec.sourceRoots.join(', ')} into ${staging}`);
  const staged = await stage(spec, staging, log);
  log(`dataset: staged ${staged.files} files, ${staged.dataBytes} bytes (${elapsed()})`);

  const tmp1 = `${names.raw1}.tmp`;
  const fh = await fsp.open(tmp1, 'w');
  await fh.truncate(spec.virtualSize);
  await fh.close();
  log(`dataset: mke2fs -t ext4 -d ${staging} (${sizeArg(spec.virtualSize)} sparse image)`);
  await run([tools.mke2fs, '-q', '-F', '-t', 'ext4', '-L', 'scw-bench', '-U', spec.fsUuid, '-d', staging, tmp1, sizeArg(spec.virtualSize)], {
    env: { ...process.env, E2FSPROGS_FAKE_TIME: String(spec.fakeTime) },
  });
  await run([tools.e2fsck, '-f', '-n', tmp1]);
  await fsp.rename(tmp1, names.raw1);
  await fsp.rm(staging, { recursive: true, force: true });
  log(`dataset: image 1 done, ${await allocated(names.raw1)} bytes allocated (${elapsed()})`);

  const tmp2 = `${names.raw2}.tmp`;
  await run(['cp', '--sparse=always', names.raw1, tmp2]);
  const { offsets, differing } = await scatterWrites(spec, tmp2);
  await fsp.rename(tmp2, names.raw2);
  log(`dataset: image 2 = image 1 + ${spec.writes} writes of ${spec.writeSize / KiB} KiB (${differing} bytes differ) (${elapsed()})`);

  for (const [raw, qcow] of [[names.raw1, names.qcow1], [names.raw2, names.qcow2]] as const) {
    await run([tools.qemuImg, 'convert', '-O', 'qcow2', raw, `${qcow}.tmp`]);
    await fsp.rename(`${qcow}.tmp`, qcow);
  }
  log(`dataset: QCOW2 conversions done (${elapsed()})`);

  const ds: Dataset = {
    spec,
    dir,
    ...names,
    files: staged.files,
    dirs: staged.dirs,
    dataBytes: staged.dataBytes,
    perRoot: staged.perRoot,
    changedBytes: spec.writes * spec.writeSize,
    differingBytes: differing,
    writeOffsets: offsets,
    raw1AllocatedBytes: await allocated(names.raw1),
    raw2AllocatedBytes: await allocated(names.raw2),
    qcow1FileBytes: (await fsp.stat(names.qcow1)).size,
    qcow2FileBytes: (await fsp.stat(names.qcow2)).size,
    buildSeconds: (Date.now() - started) / 1000,
    builtAt: new Date().toISOString(),
  };
  await fsp.writeFile(manifest, `${JSON.stringify(ds, null, 2)}\n`);
  log(`dataset: built in ${elapsed()}`);
  return ds;
}
