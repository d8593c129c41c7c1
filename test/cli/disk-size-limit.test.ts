/**
 * Issue 22, point 1: a QCOW2 image of virtual size exactly 2^53 used to back up with exit 0 and
 * leave a manifest that no reader accepts, which broke every command. Reproduced as the issue says
 * (qemu-img create, then patch the header and truncate), on a folder store and on the local S3
 * server: the image is refused, the largest size a snapshot can record (2^53 - 1, read as whole
 * sectors) backs up, and the store keeps working.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startS3Server, type S3TestServer } from '../rig/s3-server';
import { makeImage, tempDir, writeImage } from '../helpers';
import { WEAK_KDF, runCli, summaryOf } from './spawn-cli';

let s3: S3TestServer;
let dir: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('limits');
  dir = await tempDir('scwb-size-limit-');
});
afterAll(async () => {
  await s3.stop();
  await dir.cleanup();
});

/**
 * `qemu-img create -f qcow2 -o cluster_size=2M p.qcow2 1T`, then `size` big-endian at byte 24,
 * 0x00400000 at byte 36 (l1_size), truncated to 8M.
 */
function edgeImage(name: string, size: bigint): string {
  const file = join(dir.path, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', file, '1T']);
  const b = Buffer.alloc(8 * 1024 * 1024);
  readFileSync(file).copy(b);
  b.writeBigUInt64BE(size, 24);
  b.writeUInt32BE(0x00400000, 36);
  writeFileSync(file, b);
  return file;
}

describe.each([
  ['a folder store', () => ({ repo: join(dir.path, 'repo'), env: { SCW_BACKUP_PASSWORD: 'pw-passphrase' } })],
  ['the local S3 server', () => ({
    repo: 's3://limits/store',
    env: { SCW_BACKUP_PASSWORD: 'pw-passphrase', SCW_ACCESS_KEY: s3.accessKeyId, SCW_SECRET_KEY: s3.secretAccessKey, SCW_BACKUP_S3_ENDPOINT: s3.endpoint, SCW_DEFAULT_REGION: s3.region },
  })],
])('on %s', (_label, where) => {
  it('refuses a 2^53-byte image; the largest recordable disk backs up; every command keeps working', async () => {
    const { repo, env } = where();
    const cli = (...args: string[]) => runCli([args[0], '--repo', repo, ...args.slice(1)], env);
    expect((await cli('init', ...WEAK_KDF)).code).toBe(0);

    const refused = await cli('backup', edgeImage('2^53.qcow2', 2n ** 53n));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/2\^53\.qcow2: virtual size 9007199254740992 bytes is more than 9007199254740991 \(2\^53 - 1\), the largest disk a snapshot can record/);

    const largest = await cli('backup', '--json', edgeImage('largest.qcow2', 2n ** 53n - 1n));
    expect(largest.stderr).toBe('');
    expect(largest.code).toBe(0);
    const hugeId = (summaryOf(largest.stdout) as { snapshotId: string }).snapshotId;
    const small = makeImage(1 << 20, 31);
    expect((await cli('backup', await writeImage(dir.path, 'small.img', small))).code).toBe(0);

    const listed = summaryOf((await cli('snapshots', '--json')).stdout) as { snapshots: Array<{ id: string; size: number }> };
    expect(listed.snapshots.map((s) => s.size)).toEqual([2 ** 53 - 512, small.length]);
    expect(listed.snapshots[0].id).toBe(hugeId);
    const out = join(dir.path, `restored-${Date.now()}.img`);
    expect((await cli('restore', 'latest', '--target', out)).code).toBe(0);
    expect(readFileSync(out).equals(small)).toBe(true);
    expect((await cli('check')).code).toBe(0);
    expect((await cli('forget', hugeId)).code).toBe(0);
    expect((await cli('prune', '--grace', '0')).code).toBe(0);
    expect((summaryOf((await cli('snapshots', '--json')).stdout) as { snapshots: unknown[] }).snapshots).toHaveLength(1);
  });
});
