import type { Command } from 'commander';
import { DEFAULT_CHUNKER, DEFAULT_PACK_SIZE, type ChunkerParams } from '../../engine/store/config';
import { DEFAULT_KDF, WEAK_KDF_MEMORY_KIB } from '../../engine/crypto/kdf';
import { InvalidInputError } from '../../engine/errors';
import { initRepository } from '../../engine/open';
import { parseInteger, parseSize, requireRepo } from '../args';
import { commonOptions, locationOptions, type RepoFlags } from '../common';
import { Output } from '../output';
import { getPassphrase } from '../password';

interface InitFlags extends RepoFlags {
  chunker: string;
  chunkSize?: string;
  packSize?: string;
  kdfMemoryKib?: string;
  kdfTime?: string;
  allowWeakKdf?: boolean;
}

function chunkerFrom(flags: InitFlags): ChunkerParams {
  const size = flags.chunkSize ? parseSize(flags.chunkSize, '--chunk-size') : undefined;
  if (flags.chunker === 'fixed') return { kind: 'fixed', size: size ?? (DEFAULT_CHUNKER.kind === 'fixed' ? DEFAULT_CHUNKER.size : 65536) };
  if (flags.chunker === 'fastcdc') {
    const avg = size ?? 65536;
    return { kind: 'fastcdc', min: avg / 4, avg, max: avg * 4 };
  }
  throw new InvalidInputError('--chunker', `"${flags.chunker}" is not fixed or fastcdc`);
}

export function registerInit(program: Command): void {
  commonOptions(program.command('init'))
    .description('create a new, empty repository')
    .option('--chunker <kind>', 'fixed (aligned to guest offsets) or fastcdc (content-defined)', DEFAULT_CHUNKER.kind)
    .option('--chunk-size <size>', 'fixed: the chunk size; fastcdc: the average (min = avg/4, max = avg*4); e.g. 64k')
    .option('--pack-size <size>', `target pack file size (default ${DEFAULT_PACK_SIZE / 1048576} MiB)`)
    .option('--kdf-memory-kib <n>', `Argon2id memory for this passphrase (default ${DEFAULT_KDF.memoryKiB} = ${DEFAULT_KDF.memoryKiB / 1024} MiB)`)
    .option('--kdf-time <n>', `Argon2id passes (default ${DEFAULT_KDF.time})`)
    .option('--allow-weak-kdf', `accept Argon2id memory below ${WEAK_KDF_MEMORY_KIB} KiB (tests only)`)
    .action(async (flags: InitFlags) => {
      const out = new Output(!!flags.json);
      const location = requireRepo(flags.repo);
      const passphrase = await getPassphrase(flags, true);
      const kdf = flags.kdfMemoryKib || flags.kdfTime
        ? { memoryKiB: flags.kdfMemoryKib ? parseInteger(flags.kdfMemoryKib, '--kdf-memory-kib') : DEFAULT_KDF.memoryKiB, time: flags.kdfTime ? parseInteger(flags.kdfTime, '--kdf-time') : DEFAULT_KDF.time, parallelism: DEFAULT_KDF.parallelism }
        : undefined;
      const repo = await initRepository(location, passphrase, {
        chunker: chunkerFrom(flags),
        packSize: flags.packSize ? parseSize(flags.packSize, '--pack-size') : undefined,
        kdf,
        allowWeakKdf: flags.allowWeakKdf,
        location: locationOptions(flags),
      });
      out.text(`created repository ${repo.config.id.slice(0, 12)} at ${location}`);
      out.text('keep the passphrase safe: without it the data cannot be read');
      out.summary('init', { repository: repo.config.id, location, chunker: repo.config.chunker, packSize: repo.config.packSize });
    });
}
