/**
 * The fleet-scale case (issue #18): how a command's cost grows with the store it runs against.
 * Stores of N blobs and M snapshots are built synthetically (fleet-store.ts; restic's with
 * fleet-restic.ts), then each is measured with the commands a fleet runs every day:
 *
 * - `backup` of a new 64 MiB image (seeded random bytes, a new one per run, so every chunk is new
 *   and is looked up against the whole store): wall time, time until the first pack is stored (the
 *   first `--json` progress line with bytesStored > 0, lines come every 250 ms at most), peak RSS,
 *   and on S3 the requests;
 * - `snapshots`: wall time, peak RSS, requests;
 * - in this process, after the store is open (no process start, no KDF): listing every snapshot,
 *   and one source's `latest` (findSnapshot with a source filter).
 *
 * restic runs the same backup and `snapshots` against its own synthetic store of the same N and M,
 * in a folder only, up to the N it can reach here (its index lives in memory: ~170 bytes a blob).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { findSnapshot, listSnapshots, openRepository, type LocationOptions } from '../engine';
import { BenchError, runMeasured } from './exec';
import { buildResticStore } from './fleet-restic';
import { buildFleetStore } from './fleet-store';
import { median, type RequestCounts } from './measure';
import { OURS_PASSWORD } from './ours';
import { RESTIC_PASSWORD } from './restic';
import type { BenchS3 } from './s3';

export type FleetSite = 'folder' | 's3';

export interface FleetPoint {
  blobs: number;
  snapshots: number;
}

export interface FleetSpec {
  size: 'full' | 'small';
  points: FleetPoint[];
  sites: FleetSite[];
  runs: number;
  /** restic runs against stores of at most this many blobs. */
  resticMaxBlobs: number;
}

const M = 1_000_000;
const IMAGE_BYTES = 64 * 2 ** 20;
const SEED = 0x5cb0f1ee;

/** BENCH_FLEET: full (default), small, or 0 (skip). */
export function fleetSpec(value: string | undefined, runs: number): FleetSpec | undefined {
  const v = (value ?? 'full').trim();
  if (v === '0') return undefined;
  if (v === 'full') {
    return {
      size: 'full', runs, sites: ['folder', 's3'], resticMaxBlobs: 10 * M,
      points: [
        { blobs: 1 * M, snapshots: 200 }, { blobs: 10 * M, snapshots: 200 }, { blobs: 100 * M, snapshots: 200 },
        { blobs: 1 * M, snapshots: 2_000 }, { blobs: 1 * M, snapshots: 20_000 },
      ],
    };
  }
  if (v === 'small') {
    return {
      size: 'small', runs: 1, sites: ['folder', 's3'], resticMaxBlobs: 1 * M,
      points: [{ blobs: 100_000, snapshots: 200 }, { blobs: 1 * M, snapshots: 200 }, { blobs: 100_000, snapshots: 2_000 }],
    };
  }
  throw new BenchError(`BENCH_FLEET must be full, small or 0, not "${value}"`);
}

export interface CommandFigures {
  seconds: number;
  peakRssMiB: number;
  requests?: RequestCounts;
}

export interface FleetRow extends FleetPoint {
  site: FleetSite;
  buildS: number;
  backup: CommandFigures & { firstStoredS: number | null };
  snapshotsCmd: CommandFigures;
  /** In this process, the store already open. */
  listS: number;
  latestS: number;
  listRequests?: number;
  latestRequests?: number;
  restic?: { buildS: number; backup: CommandFigures; snapshotsCmd: CommandFigures } | { skipped: string };
}

export interface FleetContext {
  /** argv prefix that runs our CLI. */
  ours: string[];
  restic: string;
  work: string;
  s3?: BenchS3;
  log: (line: string) => void;
}

/** A 64 MiB image of seeded random bytes (AES-256-CTR keystream), one per run. */
async function image(work: string, run: number): Promise<string> {
  const file = path.join(work, `image-${run}.raw`);
  const key = createHash('sha256').update(`scw-backup fleet bench image ${SEED} ${run}`).digest();
  await fsp.writeFile(file, createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(IMAGE_BYTES)));
  return file;
}

function firstStored(): { onStdout: (chunk: string, seconds: number) => void; at: () => number | null } {
  let at: number | null = null;
  let pending = '';
  return {
    onStdout(chunk, seconds) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (at !== null || !line.startsWith('{"type":"progress"')) continue;
        if ((JSON.parse(line) as { bytesStored?: number }).bytesStored) at = seconds;
      }
    },
    at: () => at,
  };
}

const mib = (kib: number): number => Math.round(kib / 1024);

function medianFigures(xs: CommandFigures[]): CommandFigures {
  const req = xs.map((x) => x.requests).filter((r): r is RequestCounts => r !== undefined);
  return {
    seconds: median(xs.map((x) => x.seconds)),
    peakRssMiB: median(xs.map((x) => x.peakRssMiB)),
    ...(req.length ? { requests: req[Math.floor(req.length / 2)] } : {}),
  };
}

async function measureOurs(point: FleetPoint, site: FleetSite, spec: FleetSpec, ctx: FleetContext): Promise<FleetRow> {
  const name = `ours-${site}-${point.blobs}-${point.snapshots}`;
  const store = site === 's3' ? `s3://bench/fleet/${name}` : path.join(ctx.work, 'stores', name);
  const s3 = site === 's3' ? ctx.s3 : undefined;
  if (site === 's3' && !s3) throw new BenchError('the fleet case on S3 needs the bench S3 server');
  // The store is built against s3rver directly (uncounted); the CLI goes through the counting proxy.
  const direct: LocationOptions | undefined = s3
    ? { s3: { endpoint: s3.serverEndpoint, region: s3.env.SCW_DEFAULT_REGION, accessKeyId: s3.env.SCW_ACCESS_KEY, secretAccessKey: s3.env.SCW_SECRET_KEY } }
    : undefined;
  const counted: LocationOptions | undefined = s3 ? { s3: { ...direct?.s3, endpoint: s3.proxyEndpoint } } : undefined;
  if (s3) await s3.remove(store);
  else await fsp.rm(store, { recursive: true, force: true });
  ctx.log(`fleet: building ${name}`);
  const built = await buildFleetStore(store, { ...point, seed: SEED, passphrase: OURS_PASSWORD }, direct);
  const env = { ...process.env, ...(s3?.env ?? {}), SCW_BACKUP_PASSWORD: OURS_PASSWORD };
  const measured = async (argv: string[], onStdout?: (c: string, s: number) => void): Promise<CommandFigures> => {
    s3?.startCounting?.();
    const r = await runMeasured([...ctx.ours, ...argv], { env, onStdout });
    return { seconds: r.seconds, peakRssMiB: mib(r.peakRssKiB), ...(s3?.counted ? { requests: s3.counted() } : {}) };
  };
  const backups: Array<CommandFigures & { firstStoredS: number | null }> = [];
  const listings: CommandFigures[] = [];
  for (let run = 0; run < spec.runs; run++) {
    const img = await image(ctx.work, run);
    const first = firstStored();
    backups.push({ ...(await measured(['backup', '--repo', store, '--json', '--host', 'bench-new', img], first.onStdout)), firstStoredS: first.at() });
    await fsp.rm(img);
    listings.push(await measured(['snapshots', '--repo', store, '--json']));
  }
  const repo = await openRepository(store, OURS_PASSWORD, { location: counted });
  const timed = async (f: () => Promise<unknown>): Promise<{ s: number; requests?: number }> => {
    s3?.startCounting?.();
    const t = process.hrtime.bigint();
    await f();
    return { s: Number(process.hrtime.bigint() - t) / 1e9, ...(s3?.counted ? { requests: s3.counted().total } : {}) };
  };
  const list = await timed(() => listSnapshots(repo));
  const latest = await timed(() => findSnapshot(repo, 'latest', { sources: [built.someSource] }));
  const backup = medianFigures(backups);
  const firsts = backups.map((b) => b.firstStoredS).filter((x): x is number => x !== null);
  if (s3) await s3.remove(store);
  else await fsp.rm(store, { recursive: true, force: true });
  return {
    ...point, site, buildS: built.buildSeconds,
    backup: { ...backup, firstStoredS: firsts.length === backups.length ? median(firsts) : null },
    snapshotsCmd: medianFigures(listings),
    listS: list.s, latestS: latest.s, listRequests: list.requests, latestRequests: latest.requests,
  };
}

async function measureRestic(point: FleetPoint, spec: FleetSpec, ctx: FleetContext): Promise<FleetRow['restic']> {
  if (point.blobs > spec.resticMaxBlobs) {
    return { skipped: `not run: restic keeps its whole index in memory (~170 B a blob measured at 10M: 1.65 GB), ${point.blobs / M}M blobs would need ~${Math.round((point.blobs * 170) / 2 ** 30)} GiB` };
  }
  const store = path.join(ctx.work, 'stores', `restic-${point.blobs}-${point.snapshots}`);
  await fsp.rm(store, { recursive: true, force: true });
  ctx.log(`fleet: building restic-${point.blobs}-${point.snapshots}`);
  const built = await buildResticStore(store, { ...point, seed: SEED, password: RESTIC_PASSWORD });
  const env = { ...process.env, RESTIC_PASSWORD, RESTIC_PROGRESS_FPS: '0.2' };
  const measured = async (argv: string[]): Promise<CommandFigures> => {
    const r = await runMeasured([ctx.restic, '--repo', store, '--no-cache', ...argv], { env });
    return { seconds: r.seconds, peakRssMiB: mib(r.peakRssKiB) };
  };
  const backups: CommandFigures[] = [];
  const listings: CommandFigures[] = [];
  for (let run = 0; run < spec.runs; run++) {
    const img = await image(ctx.work, run);
    backups.push(await measured(['backup', '--json', '--host', 'bench-new', img]));
    await fsp.rm(img);
    listings.push(await measured(['snapshots', '--json']));
  }
  await fsp.rm(store, { recursive: true, force: true });
  return { buildS: built.seconds, backup: medianFigures(backups), snapshotsCmd: medianFigures(listings) };
}

export async function measureFleet(spec: FleetSpec, ctx: FleetContext): Promise<FleetRow[]> {
  await fsp.mkdir(path.join(ctx.work, 'stores'), { recursive: true });
  const rows: FleetRow[] = [];
  for (const point of spec.points) {
    let restic: FleetRow['restic'];
    for (const site of spec.sites) {
      const row = await measureOurs(point, site, spec, ctx);
      if (site === 'folder') row.restic = restic ??= await measureRestic(point, spec, ctx);
      rows.push(row);
      ctx.log(`fleet: ${site} ${point.blobs} blobs ${point.snapshots} snapshots: backup ${row.backup.seconds.toFixed(2)} s (first pack ${row.backup.firstStoredS?.toFixed(2) ?? '-'} s, ${row.backup.peakRssMiB} MiB), snapshots ${row.snapshotsCmd.seconds.toFixed(2)} s, latest ${row.latestS.toFixed(3)} s`);
    }
  }
  return rows;
}
