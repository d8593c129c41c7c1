/**
 * The two data paths of a Scaleway Block volume, side by side on the local emulator
 * (docs/SCALEWAY.md, "Which path"): backup and restore through the export (snapshot → QCOW2 export
 * into the staging bucket → ranged reads; QCOW2 upload → import → volume) and by direct attach
 * (snapshot → temporary volume attached to "this Instance" → its device read; new volume attached →
 * its device written). Each backup goes into a fresh store, so both are first backups.
 *
 *   tsc -p . && node dist/bench/scaleway-paths.js [--mib 512] [--runs 3]
 *
 * Writes bench/scaleway-paths.md. What the figures are: the time of our code plus the emulator's
 * own work (its export is `qemu-img convert` and an upload into s3rver in this process, its volume
 * copies are sparse file copies), all on one machine over loopback. They compare what each path
 * costs here; they do not say how long Scaleway takes (an export of 1 TB takes hours there).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRepository, type Repository } from '../engine';
import { backupBlockVolume, createScalewayClients, resolveScalewayProfile, restoreBlockVolume, stagingBackend } from '../engine/scaleway';
import { startEmulator } from '../test/emulator/server';
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, startS3Server } from '../test/rig/s3-server';

const MiB = 1024 * 1024;
const TIMEOUTS = { default: { minDelayMs: 5, maxDelayMs: 50, timeoutMs: 3600_000 } };
const KDF = { kdf: { time: 1, memoryKiB: 64, parallelism: 1 }, allowWeakKdf: true };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const mib = arg('mib', 512);
  const runs = arg('runs', 3);
  const work = await mkdtemp(join(tmpdir(), 'scwb-bench-paths-'));
  const s3 = await startS3Server();
  await s3.createBucket('staging');
  const emulator = await startEmulator({ s3, accessKey: TEST_ACCESS_KEY, delays: { volumeCreate: 1, snapshotCreate: 1, export: 1, import: 1, serverAction: 1 } });
  const profile = resolveScalewayProfile({
    accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY, projectId: emulator.credentials.projectId, zone: 'fr-par-1', apiUrl: emulator.url, env: {},
  });
  const clients = createScalewayClients(profile);
  const staging = stagingBackend(profile, 'staging', { endpoint: s3.endpoint, env: {} });
  const attach = { url: emulator.metadataUrl, deviceDir: emulator.deviceDir };
  const times: Record<string, number[]> = { 'backup export': [], 'backup attach': [], 'restore export': [], 'restore attach': [] };
  let stored = 0;
  try {
    const runner = emulator.createServer({ name: 'bench-runner', state: 'running' });
    emulator.setLocalServer(runner.id);
    // Half the volume data (random 1 MiB blocks, incompressible), half never written.
    const volume = await emulator.createVolume({ name: 'bench-volume', size: mib * MiB });
    for (let at = 0; at < mib * MiB; at += 2 * MiB) await emulator.writeVolume(volume.id, at, randomBytes(MiB));

    let n = 0;
    const freshStore = async (): Promise<Repository> => initRepository(join(work, `store-${n++}`), 'bench passphrase', KDF);
    for (let r = 0; r < runs; r++) {
      for (const via of ['export', 'attach'] as const) {
        const repo = await freshStore();
        let t = performance.now();
        const b = await backupBlockVolume(repo, clients, staging, { zone: 'fr-par-1', volumeId: volume.id, bucket: 'staging', via, attach, timeouts: TIMEOUTS });
        times[`backup ${via}`].push(performance.now() - t);
        stored = b.snapshot.stats.bytesStored;
        t = performance.now();
        const rs = await restoreBlockVolume(repo, clients, staging, { snapshot: b.snapshot, zone: 'fr-par-1', bucket: 'staging', via, attach, timeouts: TIMEOUTS });
        times[`restore ${via}`].push(performance.now() - t);
        await clients.block.deleteVolume({ zone: 'fr-par-1', volumeId: rs.volumeId });
      }
    }
  } finally {
    await staging.close();
    await emulator.stop();
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }

  const rows = Object.entries(times).map(([what, ts]) => {
    const ms = median(ts);
    return `| ${what} | ${(ms / 1000).toFixed(2)} s | ${((mib * MiB) / 2 / (ms / 1000) / MiB).toFixed(0)} MiB/s | ${ts.map((x) => (x / 1000).toFixed(2)).join(', ')} |`;
  });
  const text = [
    '# The export and the attach paths on the emulator',
    '',
    `Written by \`bench/scaleway-paths.ts\` (${new Date().toISOString().slice(0, 10)}, Node ${process.version}): one ${mib} MiB Block volume,`,
    `half of it data (random, incompressible 1 MiB blocks, every other MiB), half never written; ${runs} runs of each,`,
    'each backup into a fresh local store (so both are first backups), each restore to a new volume. Median time, and the',
    `rate over the ${mib / 2} MiB of data. ${(stored / MiB).toFixed(0)} MiB stored per backup.`,
    '',
    '| operation | median | data rate | runs |',
    '|---|---|---|---|',
    ...rows,
    '',
    'What the paths cost here: the export path pays the emulator\'s QCOW2 export (`qemu-img convert` of the snapshot and',
    'its upload into s3rver, in this process) and our ranged reads of it; a restore, our QCOW2 upload (multipart, ranged',
    'parts) and the emulator\'s import (download and conversion). The attach path pays a sparse copy of the snapshot into a',
    'volume and our reads of the device; a restore, our writes of the data only. The emulator\'s "device" is the volume\'s',
    'sparse disk file, whose holes are skipped; a real block device tells no holes, so there every byte is read and',
    'hashed (zero runs still become holes in the store). Everything shares this machine\'s cores; there is no network.',
    'On Scaleway the export and import take hours per TB and the attach path reads at the volume\'s IOPS class: these',
    'figures compare the code paths, not the service.',
    '',
  ].join('\n');
  await writeFile(join(__dirname, '..', '..', 'bench', 'scaleway-paths.md'), text);
  process.stdout.write(text);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/scaleway-paths: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
