/**
 * What store format 2 costs next to format 1, measured in this process (docs/FORMAT.md §3, §4): the
 * passphrase KDF every command pays once per key tried, and sealing a 64 KiB chunk. The whole-tool
 * figures of the cases above include both; these say how much of them is the format.
 */
import { randomBytes } from 'node:crypto';
import { argon2idNative, deriveKek, type KdfParams } from '../engine/crypto/kdf';
import { Sealer, blobAad } from '../engine/crypto/seal';

export interface FormatCosts {
  kdf: Array<{ label: string; time: number; memoryKiB: number; parallelism: number; medianMs: number }>;
  seal: Array<{ version: 1 | 2; mbPerS: number; usPerObject: number }>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const KDFS = [
  { label: 'format 1 default (OWASP floor)', time: 2, memoryKiB: 19456, parallelism: 1 },
  { label: 'format 2 default (RFC 9106 §4, 2nd option)', time: 3, memoryKiB: 65536, parallelism: 4 },
];

export async function measureFormatCosts(runs = 5): Promise<FormatCosts> {
  const kdf: FormatCosts['kdf'] = [];
  for (const k of KDFS) {
    const params: KdfParams = { name: 'argon2id', version: 19, ...k, salt: randomBytes(16).toString('base64') };
    await deriveKek('warm-up', params);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await deriveKek('a bench passphrase', params);
      times.push(performance.now() - t);
    }
    kdf.push({ ...k, medianMs: median(times) });
  }
  // Sealing as the backup's workers do it (chunk-ops.ts sealRanges): a cipher per chunk, into a reused buffer.
  const chunk = randomBytes(64 * 1024);
  const out = Buffer.allocUnsafe(chunk.length + 64);
  const aad = blobAad(0, randomBytes(32));
  const seal: FormatCosts['seal'] = [];
  for (const version of [1, 2] as const) {
    const sealer = new Sealer(randomBytes(32), version);
    const n = 4000;
    const big: number[] = [];
    const small: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      for (let i = 0; i < n; i++) {
        const c = sealer.cipher(out.subarray(0, sealer.nonceLength));
        c.setAAD(aad);
        c.update(chunk).copy(out, sealer.nonceLength);
        c.final();
        c.getAuthTag();
      }
      big.push(performance.now() - t);
      t = performance.now();
      for (let i = 0; i < n; i++) {
        const c = sealer.cipher(out.subarray(0, sealer.nonceLength));
        c.setAAD(aad);
        c.final();
        c.getAuthTag();
      }
      small.push(performance.now() - t);
    }
    seal.push({ version, mbPerS: (n * chunk.length) / (median(big) / 1000) / 1e6, usPerObject: (median(small) * 1000) / n });
  }
  return { kdf, seal };
}

export function formatCostsMarkdown(c: FormatCosts | undefined): string {
  if (!c) return '';
  return [
    '### Store format costs (format 2 against format 1)',
    '',
    'Measured inside the bench process, medians of the runs (the KDF on up to one thread per core, sealing on one thread). Every command pays the KDF once per key file it tries (the case timings above include it); every stored object pays the sealing.',
    '',
    `| passphrase KDF (Argon2id, ${argon2idNative ? 'native/argon2.c' : 'hash-wasm'}) | t | m | p | time per key tried (ms) |`,
    '|---|---:|---:|---:|---:|',
    ...c.kdf.map((k) => `| ${k.label} | ${k.time} | ${k.memoryKiB / 1024} MiB | ${k.parallelism} | ${k.medianMs.toFixed(0)} |`),
    '',
    '| sealing | 64 KiB chunks (MB/s) | per object, empty (µs) |',
    '|---|---:|---:|',
    ...c.seal.map((s) => `| format ${s.version}: ${s.version === 1 ? 'AES-256-GCM, 12-byte random nonce' : 'XAES-256-GCM, 24-byte random nonce'} | ${s.mbPerS.toFixed(0)} | ${s.usPerObject.toFixed(1)} |`),
    '',
  ].join('\n');
}
