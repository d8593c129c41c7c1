/**
 * `scw-backup drill SNAPSHOT`: a restore drill (docs/OPERATIONS.md "Restore drills"): restore to a
 * scratch target (a file; a Block volume for a Scaleway Block source), verify every byte, clean up,
 * and record the outcome in the store. `scw-backup drills` lists the records.
 */
import type { Command } from 'commander';
import { BackupError } from '../../engine/errors';
import { drillToFile, type DrillResult } from '../../engine/drill';
import { listDrills, type Drill } from '../../engine/store/drill-record';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { interruptSignal } from '../interrupt';
import { Output, formatBytes } from '../output';
import { SNAPSHOT_ARGUMENT, collectSource, filterFrom, filterOptions, resolveSnapshot, type FilterFlags } from '../snapshot-filter';
import { withScalewaySession, type ScalewayFlags } from './scaleway';

interface DrillFlags extends ScalewayFlags, FilterFlags {
  scratchDir?: string;
  toFile?: boolean;
}

/** The drill ran and failed (recorded): exit 1 after the summary, with one line saying why. */
export class DrillFailedError extends BackupError {
  constructor(r: DrillResult) {
    super('DRILL_FAILED', `drill of snapshot ${r.record.snapshot.slice(0, 12)} failed: ${r.record.error?.message ?? 'unknown error'} (recorded as drills/${r.id.slice(0, 12)})`);
  }
}

/** The zone of a Scaleway Block source, which a volume drill restores into; undefined for anything else. */
function blockZone(location: string): string | undefined {
  return /^scaleway-block:\/\/([a-z]{2}-[a-z]{3}-[1-9])\//.exec(location)?.[1];
}

function rto(seconds: number | null): string {
  return seconds === null ? '-' : `${seconds.toFixed(1)} s`;
}

function describe(r: DrillResult, where: string): string {
  const d = r.record;
  return `drill of snapshot ${d.snapshot.slice(0, 12)} (${d.source.location}) to ${where}: ${d.result}` +
    (d.result === 'passed' ? `, RTO ${rto(d.rtoSeconds)}, ${formatBytes(d.bytesVerified)} verified` : '') + `; recorded as drills/${r.id.slice(0, 12)}`;
}

export function registerDrill(program: Command): void {
  filterOptions(commonOptions(program.command('drill'))
    .description('restore drill: restore a snapshot to a scratch file (or, for a Scaleway Block source, a scratch volume), verify every byte, remove it, and record the result in the store')
    .argument('<snapshot>', SNAPSHOT_ARGUMENT), 'with "latest": snapshots')
    .option('--scratch-dir <dir>', 'folder of the scratch file (default the system\'s temporary folder); it needs room for the disk\'s data')
    .option('--to-file', 'drill a Scaleway snapshot to a scratch file instead of a scratch volume')
    .option('--bucket <name>', 'volume drills: staging bucket for the import and the verification export (else SCW_BACKUP_BUCKET)')
    .option('--staging-prefix <prefix>', 'volume drills: key prefix in the staging bucket', 'scw-backup')
    .action(async (ref: string, flags: DrillFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const snapshot = await resolveSnapshot(repo, ref, filterFrom(flags), out, { kind: 'disk' });
      const common = { onProgress: out.progress(), onWarning: (m: string) => out.warning(m), signal: interruptSignal() };
      const zone = flags.toFile ? undefined : blockZone(snapshot.source.location);
      let result: DrillResult | undefined;
      if (zone === undefined) {
        result = await drillToFile(repo, snapshot, { ...common, scratchDir: flags.scratchDir });
      } else {
        await withScalewaySession(flags, zone, async ({ sw, clients, staging, bucket }) => {
          result = await sw.drillVolume(repo, clients, staging, { ...common, snapshot, zone, bucket, prefix: flags.stagingPrefix });
        }, repo);
      }
      if (!result) throw new Error('drill: no result');
      out.endProgress();
      out.text(describe(result, zone === undefined ? 'a scratch file' : `a scratch volume in ${zone}`));
      out.summary('drill', { id: result.id, ...result.record });
      if (result.record.result === 'failed') throw new DrillFailedError(result);
    });

  commonOptions(program.command('drills'))
    .description('list the restore drills recorded in the store, oldest first')
    .option('--source <location>', 'only drills of this source: a file path, scaleway-block://ZONE/VOLUME_ID... (repeatable)', collectSource)
    .action(async (flags: RepoFlags & { source?: string[] }) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const { drills, damaged } = await listDrills(repo, { sources: flags.source });
      out.text(['ID          ', 'STARTED             ', 'RESULT', 'RTO       ', 'VERIFIED  ', 'TARGET        ', 'SNAPSHOT    ', 'SOURCE'].join(' '));
      for (const d of drills) out.text(row(d));
      out.text(`${drills.length} drill(s), ${drills.filter((d) => d.result === 'failed').length} failed` + (damaged.length > 0 ? `, ${damaged.length} damaged record(s)` : ''));
      for (const d of damaged) out.warning(`${d.message}; skipped (run "scw-backup check")`);
      out.summary('drills', { drills, damaged });
    });
}

function row(d: Drill): string {
  return [
    d.id.slice(0, 12),
    d.started.slice(0, 19).replace('T', ' ') + ' ',
    d.result.padEnd(6),
    rto(d.rtoSeconds).padEnd(10),
    formatBytes(d.bytesVerified).padEnd(10),
    d.target.padEnd(14),
    d.snapshot.slice(0, 12),
    d.source.location + (d.error ? `  (${d.error.message})` : ''),
  ].join(' ');
}
