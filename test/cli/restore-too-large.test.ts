/**
 * A restore larger than the target's file system allows for one file (ext4: 16 TiB with 4 KiB
 * blocks) ends in one line naming the target and the size, not in an unexpected EFBIG; as QCOW2,
 * in one line naming qemu's L1 limit, not in an allocation failure.
 */
import { readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers';
import { writeHugeEmptyQcow2 } from '../engine/source/qcow2-lookalikes';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

const env = { SCW_BACKUP_PASSWORD: 'pw-huge-passphrase' };
const EXT4_SUPER_MAGIC = 0xef53;

it('restoring an empty 2^53 - 1 byte disk to ext4 is one line, raw or QCOW2, and leaves nothing', async () => {
  const dir = await tempDir();
  try {
    if (statfsSync(dir.path).type !== EXT4_SUPER_MAGIC) {
      console.warn(`restore-too-large: ${dir.path} is not on ext4 (tmpfs would hold the file); test skipped`);
      return;
    }
    const repo = join(dir.path, 'repo');
    expect((await runCli(['init', '--repo', repo, ...WEAK_KDF], env)).code).toBe(0);
    const huge = join(dir.path, 'huge.qcow2');
    writeHugeEmptyQcow2(huge, Number.MAX_SAFE_INTEGER);
    const b = await runCli(['backup', '--repo', repo, '--json', huge], env);
    expect(b.code).toBe(0);
    const summary = summaryOf(b.stdout);
    // qemu drops the partial last sector of a QCOW2's virtual size (docs/QCOW2.md): 2^53 - 512 bytes.
    const size = Math.floor(Number.MAX_SAFE_INTEGER / 512) * 512;
    expect(summary).toMatchObject({ size, format: 'qcow2', formatReason: 'file-name' });
    const target = join(dir.path, 'huge-restored.raw');
    const r = await runCli(['restore', '--repo', repo, summary.snapshotId as string, '--target', target], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`scw-backup: ${target}: the file system there cannot hold a file of ${size} bytes; ` +
      'write it to a file system that allows files this large (ext4 with 4 KiB blocks stops at 16 TiB)\n');
    expect(readdirSync(dir.path).sort()).toEqual(['huge.qcow2', 'repo']);

    const q = await runCli(['restore', '--repo', repo, summary.snapshotId as string, '--target', `${target}.qcow2`, '--format', 'qcow2'], env);
    expect(q.code).toBe(1);
    expect(q.stderr).toMatch(new RegExp(`^scw-backup: snapshot [0-9a-f]{12} in [^\\n]*: a ${size}-byte disk needs a QCOW2 L1 table over qemu's 32 MiB limit [^\\n]*\\n$`));
    expect(readdirSync(dir.path).sort()).toEqual(['huge.qcow2', 'repo']);
  } finally {
    await dir.cleanup();
  }
});
