import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FleetResticError, buildResticStore, poly1305Aes, seal, type MasterKey } from '../../bench/fleet-restic';
import { which } from '../../bench/tools';
import { tempDir } from '../helpers';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const CHEAP = { scryptN: 1024 };

describe('fleet-restic crypto (restic design: Keys, Encryption and MAC)', () => {
  // Poly1305-AES vectors of Bernstein's paper (cr.yp.to/mac/poly1305-20050329.pdf, appendix B),
  // as restic tests its own MAC with them (internal/crypto/crypto_int_test.go).
  const vectors: Array<{ msg: string; r: string; k: string; nonce: string; mac: string }> = [
    { msg: 'f3f6', r: '851fc40c3467ac0be05cc20404f3f700', k: 'ec074c835580741701425b623235add6', nonce: 'fb447350c4e868c52ac3275cf9d4327e', mac: 'f4c633c3044fc145f84f335cb81953de' },
    { msg: '', r: 'a0f3080000f46400d0c7e9076c834403', k: '75deaa25c09f208e1dc4ce6b5cad3fbf', nonce: '61ee09218d29b0aaed7e154a2c5509cc', mac: 'dd3fab2251f11ac759f0887129cc2ee7' },
    {
      msg: '663cea190ffb83d89593f3f476b6bc24d7e679107ea26adb8caf6652d0656136',
      r: '48443d0bb0d21109c89a100b5ce2c208', k: '6acb5f61a7176dd320c5c1eb2edcdc74', nonce: 'ae212a55399729595dea458bc621ff0e', mac: '0ee1c16bb73f0f4fd19881753c01cdbe',
    },
    {
      msg: 'ab0812724a7f1e342742cbed374d94d136c6b8795d45b3819830f2c04491faf0990c62e48b8018b2c3e4a0fa3134cb67fa83e158c994d961c4cb21095c1bf9',
      r: '12976a08c4426d0ce8a82407c4f48207', k: 'e1a5668a4d5b66a5f68cc5424ed5982d', nonce: '9ae831e743978d3a23527c7128149e3a', mac: '5154ad0d2cb26e01274fc51148491f1b',
    },
  ];
  it.each(vectors.map((v, i) => [i + 1, v] as const))('Poly1305-AES matches the paper, example %d', (_, v) => {
    expect(Buffer.from(poly1305Aes(hex(v.msg), hex(v.nonce), hex(v.k), hex(v.r))).toString('hex')).toBe(v.mac);
  });

  it('seals IV || AES-256-CTR || MAC exactly as restic (its testValues vector)', () => {
    // internal/crypto/crypto_int_test.go testValues: keys, plaintext, and restic's sealed bytes.
    const key: MasterKey = {
      encrypt: hex('303e8687b1d7db18421bdc6bb8588ccadac4d59ee87b8ff70c44e635790cafef'),
      macK: hex('ef4d8824cb80b2bcc5fbff8a9b12a42c'),
      macR: hex('cc8d4b948ee0ebfe1d415de921d10353'),
    };
    const sealed = '69fb41c62d12def4593bd71757138606338f621aeaeb39da0fe4f99233f8037a54ea63338a813bcf3f75d8c3cc75dddf8750';
    expect(seal(key, hex(sealed.slice(0, 32)), Buffer.from('Dies ist ein Test!')).toString('hex')).toBe(sealed);
  });

  it('refuses an all-zero IV, which restic would not open', () => {
    const key: MasterKey = { encrypt: Buffer.alloc(32, 1), macK: Buffer.alloc(16, 2), macR: Buffer.alloc(16, 3) };
    expect(() => seal(key, Buffer.alloc(16), Buffer.from('x'))).toThrow(FleetResticError);
  });
});

describe('buildResticStore options and determinism', () => {
  it('refuses bad options and a folder that is not empty, with a typed error', async () => {
    const t = await tempDir('fleet-restic-');
    try {
      const ok = { blobs: 10, snapshots: 1, seed: 1, password: 'pw', ...CHEAP };
      for (const bad of [{ blobs: -1 }, { blobs: 1.5 }, { snapshots: NaN }, { password: '' }, { blobsPerIndex: 0 }, { scryptN: 1000 }]) {
        await expect(buildResticStore(join(t.path, 'a'), { ...ok, ...bad })).rejects.toMatchObject({ code: 'FLEET_RESTIC_BAD_OPTION' });
      }
      await writeFile(join(t.path, 'stray'), 'x');
      await expect(buildResticStore(t.path, ok)).rejects.toMatchObject({ code: 'FLEET_RESTIC_NOT_EMPTY' });
    } finally {
      await t.cleanup();
    }
  });

  it('writes the same files for the same seed, other files for another seed', async () => {
    const t = await tempDir('fleet-restic-');
    try {
      const names = async (dir: string): Promise<string[]> =>
        (await Promise.all(['keys', 'index', 'snapshots'].map(async (d) => (await readdir(join(dir, d))).map((f) => `${d}/${f}`)))).flat().sort();
      const opts = { blobs: 3000, snapshots: 5, seed: 42, password: 'pw', blobsPerIndex: 1000, ...CHEAP };
      const a = await buildResticStore(join(t.path, 'a'), opts);
      const b = await buildResticStore(join(t.path, 'b'), opts);
      await buildResticStore(join(t.path, 'c'), { ...opts, seed: 43 });
      expect(a.bytes).toBe(b.bytes);
      expect(await names(join(t.path, 'a'))).toEqual(await names(join(t.path, 'b')));
      expect(await names(join(t.path, 'a'))).not.toEqual(await names(join(t.path, 'c')));
      expect(await readFile(join(t.path, 'a', 'config'))).toEqual(await readFile(join(t.path, 'b', 'config')));
    } finally {
      await t.cleanup();
    }
  });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** restic is a system package of the CI (.ci/run installs it); a missing one fails the test. */
function resticPath(): string {
  const found = which('restic');
  if (!found) throw new Error('restic is not installed: apt-get install -y restic (.ci/run does this)');
  return found;
}

function restic(repo: string, password: string, ...args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(resticPath(), ['--no-cache', '-r', repo, ...args], {
      env: { ...process.env, RESTIC_PASSWORD: password, RESTIC_PROGRESS_FPS: '0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

async function ok(repo: string, password: string, ...args: string[]): Promise<string> {
  const r = await restic(repo, password, ...args);
  if (r.code !== 0) throw new Error(`restic ${args.join(' ')} exited with ${r.code}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

interface IndexJson {
  packs: Array<{ id: string; blobs: Array<{ id: string; type: string; offset: number; length: number; uncompressed_length: number }> }>;
}

describe('a synthetic store read by the real restic', () => {
  jest.setTimeout(180_000);
  const password = 'fleet pässword ✓';
  const BLOBS = 20_000;
  const SNAPSHOTS = 30;
  let t: { path: string; cleanup: () => Promise<void> };
  let repo: string;
  let built: Awaited<ReturnType<typeof buildResticStore>>;

  beforeAll(async () => {
    t = await tempDir('fleet-restic-');
    repo = join(t.path, 'repo');
    built = await buildResticStore(repo, { blobs: BLOBS, snapshots: SNAPSHOTS, seed: 7, password, blobsPerIndex: 6000 });
  });
  afterAll(() => t.cleanup());

  it('opens with the password and reads config version 2', async () => {
    const config = JSON.parse(await ok(repo, password, 'cat', 'config')) as Record<string, unknown>;
    expect(config).toMatchObject({ version: 2, chunker_polynomial: '3da3358b4dc173' });
    const wrong = await restic(repo, 'not the password', 'cat', 'config');
    expect(wrong.code).not.toBe(0);
  });

  it('lists every index file and every blob', async () => {
    const names = (await ok(repo, password, 'list', 'index')).trim().split('\n');
    expect(names).toHaveLength(built.indexFiles);
    expect(built.indexFiles).toBe(4); // 6000 blobs, closed at the next pack boundary: 3 full files and the rest
    for (const n of names) expect(createHash('sha256').update(await readFile(join(repo, 'index', n))).digest('hex')).toBe(n);
    const blobs = (await ok(repo, password, 'list', 'blobs')).trim().split('\n');
    expect(blobs).toHaveLength(BLOBS);
    expect(blobs.every((l) => /^data [0-9a-f]{64}$/.test(l))).toBe(true);
    expect(new Set(blobs).size).toBe(BLOBS);
  });

  it('decrypts an index whose packs hold consecutive blobs up to 16 MiB', async () => {
    const [first] = (await ok(repo, password, 'list', 'index')).trim().split('\n');
    const index = JSON.parse(await ok(repo, password, 'cat', 'index', first)) as IndexJson;
    expect(index.packs.length).toBeGreaterThan(100);
    // One expect per pack, not per blob: 6000 blobs of matchers take seconds.
    const wrong: string[] = [];
    for (const pack of index.packs) {
      let offset = 0;
      for (const b of pack.blobs) {
        const fine = b.type === 'data' && b.offset === offset && b.uncompressed_length >= 512 * 1024 && b.uncompressed_length <= 8 * 1024 * 1024 && b.length <= b.uncompressed_length + 32;
        if (!fine) wrong.push(`${pack.id}/${b.id}: ${JSON.stringify(b)} (expected offset ${offset})`);
        offset += b.length;
      }
      if (offset < 16 * 1024 * 1024) wrong.push(`${pack.id}: ${offset} bytes, under 16 MiB`);
    }
    expect(wrong).toEqual([]);
  });

  it('lists the snapshots of a fleet over 2025, and forget --dry-run groups them by host', async () => {
    type Snap = { time: string; hostname: string; paths: string[]; tree: string };
    const snaps = JSON.parse(await ok(repo, password, 'snapshots', '--json')) as Snap[];
    expect(snaps).toHaveLength(SNAPSHOTS);
    expect(new Set(snaps.map((s) => s.hostname))).toEqual(new Set(['fleet-host-0', 'fleet-host-1', 'fleet-host-2']));
    for (const s of snaps) {
      expect(s.paths).toEqual([`/var/lib/images/disk-${s.hostname.split('-').pop()}.img`]);
      expect(s.time.startsWith('2025-')).toBe(true);
    }
    const groups = JSON.parse(await ok(repo, password, 'forget', '--dry-run', '--keep-last', '2', '--json')) as Array<{ host: string; keep: unknown[]; remove: unknown[] }>;
    expect(groups.map((g) => [g.host, g.keep.length, g.remove.length]).sort()).toEqual([
      ['fleet-host-0', 2, 8],
      ['fleet-host-1', 2, 8],
      ['fleet-host-2', 2, 8],
    ]);
  });

  it('takes a backup from another host without a parent, adding one index file', async () => {
    const file = join(t.path, 'new-host.txt');
    await writeFile(file, 'a file the fleet never had\n');
    await ok(repo, password, 'backup', '--host', 'bench-new', file);
    const snaps = JSON.parse(await ok(repo, password, 'snapshots', '--json')) as Array<{ hostname: string; parent?: string }>;
    expect(snaps).toHaveLength(SNAPSHOTS + 1);
    const added = snaps.filter((s) => s.hostname === 'bench-new');
    expect(added).toHaveLength(1);
    expect(added[0].parent).toBeUndefined();
    expect((await ok(repo, password, 'list', 'index')).trim().split('\n')).toHaveLength(built.indexFiles + 1);
    expect((await ok(repo, password, 'list', 'blobs')).trim().split('\n').length).toBeGreaterThan(BLOBS);
  });

  // `restic stats` (any mode) walks the snapshots' trees, which do not exist: not run here.

  it('fails check: the packs the index lists do not exist', async () => {
    const r = await restic(repo, password, 'check');
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/pack [0-9a-f]{64}: does not exist/);
  });
});
