import { InvalidInputError } from '../engine/errors';

/** "65536", "64k", "64KiB", "16M", "1g" → bytes (binary units, as disk people mean them). */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new InvalidInputError(option, `"${text}" is not a size (e.g. 65536, 64k, 16MiB)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * mult;
}

/**
 * A Scaleway volume size: `20G` and `20GB` are 20·10⁹ bytes, as Scaleway sizes volumes (its GB are
 * 10⁹ bytes: a "20 GB" volume is 20000000000 bytes); `20GiB` is 20·2³⁰. K, M, G, T alike; a bare
 * number is bytes.
 */
export function parseVolumeSize(text: string, option: string): number {
  const m = /^(\d+)\s*(?:([kmgt])(i?)b?)?$/i.exec(text.trim());
  if (!m) throw new InvalidInputError(option, `"${text}" is not a volume size (e.g. 20G = 20000000000 bytes, as Scaleway counts; 20GiB = 20·2^30 bytes)`);
  if (!m[2]) return Number(m[1]);
  const power = 'kmgt'.indexOf(m[2].toLowerCase()) + 1;
  const n = Number(m[1]) * (m[3] ? 1024 : 1000) ** power;
  if (!Number.isSafeInteger(n)) throw new InvalidInputError(option, `"${text}" is too large`);
  return n;
}

export function parseInteger(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidInputError(option, `"${text}" is not a whole number`);
  return Number(text);
}

/** Collect repeated `--tag k=v` into a record. */
export function collectTag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidInputError('--tag', `"${value}" is not key=value`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function requireRepo(repo: string | undefined): string {
  const r = repo ?? process.env.SCW_BACKUP_REPOSITORY;
  if (!r) throw new InvalidInputError('--repo', 'no repository given: pass --repo PATH or set SCW_BACKUP_REPOSITORY');
  return r;
}
