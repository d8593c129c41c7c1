import { BenchError } from './exec';
import type { ImageFormat } from './tool-runner';

export type CaseId = 'raw' | 'raw-fastcdc' | 'qcow2';

export interface BenchCase {
  id: CaseId;
  title: string;
  /** Which images both tools are given. */
  input: ImageFormat;
  /** Extra `scw-backup init` flags. */
  oursInit: string[];
  /** What our restore writes; restic always restores the file it was given. */
  oursRestore: ImageFormat;
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
];

/** BENCH_CASES=raw,qcow2 → those cases, in the canonical order; unset → all. */
export function selectCases(env: string | undefined): BenchCase[] {
  if (!env || !env.trim()) return CASES.slice();
  const wanted = env.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !CASES.some((c) => c.id === w));
  if (unknown.length) throw new BenchError(`BENCH_CASES: unknown case ${unknown.join(', ')}; known: ${CASES.map((c) => c.id).join(', ')}`);
  return CASES.filter((c) => wanted.includes(c.id));
}
