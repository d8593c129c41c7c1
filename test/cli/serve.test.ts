/**
 * `serve --nbd` (engine/nbd/, docs/FILES.md) with real clients from Debian (qemu-img, nbdinfo and
 * nbdcopy of libnbd-bin), several at once; a client that disconnects mid-read; malformed handshakes
 * and requests from a raw socket (refused, the server stays up); the store's lock while serving, and
 * a clean stop on SIGTERM.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gptDisk } from '../engine/disk/fixtures';
import { makeImage, tempDir } from '../helpers';
import { WEAK_KDF, runCli, startCli, summaryOf, type RunningCli } from './spawn-cli';

const run = promisify(execFile);
let dir: { path: string; cleanup: () => Promise<void> };
let repo: string;
let disk: string;
let serving: RunningCli;
let uri: string;
let port: number;
let snapshotId: string;
const env = { SCW_BACKUP_PASSWORD: 'pw-serve-passphrase' };

beforeAll(async () => {
  dir = await tempDir('scwb-serve-');
  const tree = join(dir.path, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'data.bin'), makeImage(6 << 20, 11));
  disk = gptDisk(dir.path, 'disk.img', 40, tree);
  repo = join(dir.path, 'store');
  expect((await runCli(['init', '--repo', repo, ...WEAK_KDF, '--pack-size', '1MiB'], env)).code).toBe(0);
  snapshotId = summaryOf((await runCli(['backup', '--repo', repo, '--json', disk], env)).stdout).snapshotId as string;
  serving = startCli(['serve', '--repo', repo, 'latest', '--nbd', '127.0.0.1:0', '--json'], env);
  let out = '';
  serving.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 600 && !out.includes('"serving"'); i++) await new Promise((r) => setTimeout(r, 50));
  const line = JSON.parse(out.split('\n').find((l) => l.includes('"serving"')) as string) as { uri: string; port: number };
  ({ uri, port } = line);
}, 120_000);
afterAll(async () => {
  if (serving.child.exitCode === null) serving.child.kill('SIGKILL');
  await dir.cleanup();
});

it('qemu-img compare finds the served disk identical to the source image', async () => {
  const r = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', disk, uri]);
  expect(r.stdout).toBe('Images are identical.\n');
});

it('nbdinfo sees a read-only export of the right size with our block sizes; nbdcopy copies it exactly', async () => {
  const info = (await run('nbdinfo', ['--json', uri])).stdout;
  const exp = (JSON.parse(info) as { exports: Array<Record<string, unknown>> }).exports[0];
  expect(exp).toMatchObject({ 'export-size': 40 << 20, is_read_only: true, can_multi_conn: true, block_size_minimum: 1, block_size_preferred: 4096, block_size_maximum: 32 << 20 });
  const copy = join(dir.path, 'copy.img');
  await run('nbdcopy', [uri, copy]);
  expect(readFileSync(copy).equals(readFileSync(disk))).toBe(true);
});

it('serves several clients at once', async () => {
  const copies = [0, 1, 2].map((i) => join(dir.path, `par-${i}.img`));
  const results = await Promise.all([
    ...copies.map((c) => run('nbdcopy', ['--connections=2', uri, c])),
    run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', disk, uri]),
  ]);
  expect(results[3].stdout).toBe('Images are identical.\n');
  for (const c of copies) expect(readFileSync(c).equals(readFileSync(disk))).toBe(true);
});

/** A raw client socket with a byte queue, for what real clients never send. */
class RawClient {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  constructor() {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => (this.buf = Buffer.concat([this.buf, d])));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => undefined);
  }
  async bytes(n: number): Promise<Buffer> {
    for (let i = 0; i < 400 && this.buf.length < n && !this.closed; i++) await new Promise((r) => setTimeout(r, 10));
    if (this.buf.length < n) throw new Error(`closed after ${this.buf.length} of ${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async waitClosed(): Promise<boolean> {
    for (let i = 0; i < 400 && !this.closed; i++) await new Promise((r) => setTimeout(r, 10));
    return this.closed;
  }
  send(...parts: Buffer[]): void {
    this.socket.write(Buffer.concat(parts));
  }
  /** Greeting, client flags, then an option (IHAVEOPT, option, length, data). */
  async greet(flags = 3): Promise<void> {
    const hello = await this.bytes(18);
    expect(hello.subarray(0, 16).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
    this.send(u32(flags));
  }
  option(option: number, data: Buffer = Buffer.alloc(0)): void {
    this.send(Buffer.from('IHAVEOPT'), u32(option), u32(data.length), data);
  }
  /** One option reply: [option, type, data]. */
  async reply(): Promise<[number, number, Buffer]> {
    const h = await this.bytes(20);
    return [h.readUInt32BE(8), h.readUInt32BE(12), await this.bytes(h.readUInt32BE(16))];
  }
  async go(): Promise<void> {
    this.option(7, Buffer.concat([u32(0), u16(0)]));
    for (let r = await this.reply(); r[1] !== 1; r = await this.reply()) expect(r[1]).toBe(3);
  }
  request(type: number, offset: number, length: number, cookie = 7, flags = 0): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(0x25609513, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(BigInt(cookie), 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    this.send(h);
  }
  async simpleReply(): Promise<[number, bigint]> {
    const r = await this.bytes(16);
    expect(r.readUInt32BE(0)).toBe(0x67446698);
    return [r.readUInt32BE(4), r.readBigUInt64BE(8)];
  }
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

it('refuses malformed handshakes and options, and answers the rest', async () => {
  const badFlags = new RawClient();
  await badFlags.greet(0x80);
  expect(await badFlags.waitClosed()).toBe(true);

  const badMagic = new RawClient();
  await badMagic.greet();
  badMagic.send(Buffer.from('NOTOPTS!'), u32(7), u32(0));
  expect(await badMagic.waitClosed()).toBe(true);

  const huge = new RawClient();
  await huge.greet();
  huge.send(Buffer.from('IHAVEOPT'), u32(7), u32(0xffffffff));
  expect((await huge.reply())[1]).toBe(2 ** 31 + 9); // NBD_REP_ERR_TOO_BIG
  expect(await huge.waitClosed()).toBe(true);

  const c = new RawClient();
  await c.greet();
  c.option(99);
  expect((await c.reply()).slice(0, 2)).toEqual([99, 2 ** 31 + 1]); // NBD_REP_ERR_UNSUP
  c.option(7, Buffer.concat([u32(1000), u16(0)])); // name longer than the data
  expect((await c.reply())[1]).toBe(2 ** 31 + 3); // NBD_REP_ERR_INVALID
  c.option(7, Buffer.concat([u32(5), Buffer.from('other'), u16(0)]));
  expect((await c.reply())[1]).toBe(2 ** 31 + 6); // NBD_REP_ERR_UNKNOWN
  c.option(3);
  const [, type, server] = await c.reply();
  expect([type, server.subarray(4).toString()]).toEqual([2, snapshotId]); // NBD_REP_SERVER
  expect((await c.reply())[1]).toBe(1);
  await c.go();
  // Transmission: past the end, too large, a write (payload dropped), an unknown command, then a good read.
  c.request(0, (40 << 20) - 10, 11, 1);
  expect(await c.simpleReply()).toEqual([22, 1n]); // NBD_EINVAL
  c.request(0, 0, (32 << 20) + 1, 2);
  expect(await c.simpleReply()).toEqual([75, 2n]); // NBD_EOVERFLOW
  c.request(1, 0, 4096, 3);
  c.send(Buffer.alloc(4096, 1));
  expect(await c.simpleReply()).toEqual([1, 3n]); // NBD_EPERM
  c.request(42, 0, 0, 4);
  expect(await c.simpleReply()).toEqual([22, 4n]);
  c.request(0, 512, 8, 5);
  expect(await c.simpleReply()).toEqual([0, 5n]);
  expect((await c.bytes(8)).toString('latin1')).toBe('EFI PART');
  // A request with a bad magic: no way to resynchronise, the server hangs up.
  c.send(Buffer.alloc(28, 0xee));
  expect(await c.waitClosed()).toBe(true);

  // Still serving.
  expect((await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', disk, uri])).stdout).toBe('Images are identical.\n');
});

it('a client that disconnects in the middle of a large read leaves the server serving', async () => {
  for (let i = 0; i < 3; i++) {
    const c = new RawClient();
    await c.greet();
    await c.go();
    c.request(0, 0, 32 << 20, 9);
    await c.bytes(1000);
    c.socket.destroy();
  }
  expect((await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', disk, uri])).stdout).toBe('Images are identical.\n');
});

it('holds a shared lock while serving (prune refuses), and stops cleanly on SIGTERM', async () => {
  expect(readdirSync(join(repo, 'locks'))).toHaveLength(1);
  const prune = await runCli(['prune', '--repo', repo], env);
  expect(prune.code).toBe(1);
  expect(prune.stderr).toMatch(/locked.*serve/);
  serving.child.kill('SIGTERM');
  const r = await serving.done;
  expect(r.code).toBe(143);
  expect(r.stderr).toMatch(/interrupted by SIGTERM: serve stopped and released its lock; its clients were disconnected/);
  // With --json, warnings are JSON lines on stdout: each refused client was named.
  const warnings = r.stdout.split('\n').filter((l) => l.includes('"warning"')).map((l) => (JSON.parse(l) as { message: string }).message);
  expect(warnings.filter((m) => /broke the handshake: disconnected/.test(m))).toHaveLength(3);
  expect(warnings.some((m) => /sent a request with magic 0xeeeeeeee: disconnected/.test(m))).toBe(true);
  expect(r.stderr).not.toMatch(/unexpected/);
  expect(readdirSync(join(repo, 'locks'))).toEqual([]);
});
