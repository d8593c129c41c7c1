import { BenchError } from './exec';
import type { ImageFormat } from './tool-runner';

export type CaseId = 'raw' | 'raw-fastcdc' | 'qcow2' | 'raw-kdf16' | 's3';

/** Where the store lives: a local folder, or a prefix of a bucket on the local S3 server (test/rig). */
export type StoreKind = 'folder' | 's3';

export interface BenchCase {
  id: CaseId;
  title: string;
  /** Which images both tools are given. */
  input: ImageFormat;
  /** Extra `scw-backup init` flags. */
  oursInit: string[];
  /** What our restore writes; restic always restores the file it was given. */
  oursRestore: ImageFormat;
  /** Where the store is (default a folder under bench/work/stores/). */
  store?: StoreKind;
  /** restic is not run for this case (s3: restic against S3 is out of scope). */
  oursOnly?: boolean;
  /** With oursOnly: the restic column repeats restic's runs on the same image (from another case). */
  resticOfSameImage?: boolean;
}

export const CASES: readonly BenchCase[] = [
  { id: 'raw', title: 'raw image, our default chunker (fixed 64 KiB)', input: 'raw', oursInit: [], oursRestore: 'raw' },
  { id: 'raw-fastcdc', title: 'raw image, `--chunker fastcdc`', input: 'raw', oursInit: ['--chunker', 'fastcdc'], oursRestore: 'raw' },
  {
    id: 'qcow2',
    title: 'QCOW2 image (restic backs up the .qcow2 file; we back up the guest disk inside and restore it as raw)',
    input: 'qcow2',
    oursInit: [],
    oursRestore: 'raw',
  },
  {
    // Issue #18 item D: our key's KDF (Argon2id, 64 MiB: issue #14's floor) adds its memory to every
    // command's start; restic's own key is scrypt N = 2^14, r = 8, i.e. 16 MiB (restic 0.14 `init`
    // here). The same backups with a 16 MiB key show what the rest of the command needs.
    id: 'raw-kdf16',
    title: 'raw image, default chunker, the key\'s Argon2id at 16 MiB (restic\'s key: scrypt N = 2^14, r = 8, 16 MiB; ours is 64 MiB); ours only',
    input: 'raw',
    oursInit: ['--kdf-memory-kib', '16384', '--allow-weak-kdf'],
    oursRestore: 'raw',
    oursOnly: true,
    resticOfSameImage: true,
  },
  {
    id: 's3',
    title: 'raw image, default chunker, store on the local S3 server (s3rver behind a counting proxy); ours only',
    input: 'raw',
    oursInit: [],
    oursRestore: 'raw',
    store: 's3',
    oursOnly: true,
  },
];

/** Whether the case's table has restic figures: run for it, or repeated from its image's runs. */
export function hasResticColumn(c: BenchCase): boolean {
  return !c.oursOnly || c.resticOfSameImage === true;
}

/** BENCH_CASES=raw,qcow2 → those cases, in the canonical order; unset → all. */
export function selectCases(env: string | undefined): BenchCase[] {
  if (!env || !env.trim()) return CASES.slice();
  const wanted = env.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !CASES.some((c) => c.id === w));
  if (unknown.length) throw new BenchError(`BENCH_CASES: unknown case ${unknown.join(', ')}; known: ${CASES.map((c) => c.id).join(', ')}`);
  return CASES.filter((c) => wanted.includes(c.id));
}
