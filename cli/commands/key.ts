import type { Command } from 'commander';
import { commonOptions, openRepo, type RepoFlags } from '../common';
import { Output } from '../output';
import { getNewPassphrase } from '../password';

interface KeyFlags extends RepoFlags {
  newPasswordFile?: string;
}

export function registerKey(program: Command): void {
  const key = program.command('key').description('manage the passphrases that open the repository');
  commonOptions(key.command('list'))
    .description('list keys (the one used now is marked *)')
    .action(async (flags: KeyFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      // Unusable key files were named when the store was opened.
      const keys = await repo.listKeys();
      for (const k of keys) out.text(`${k.current ? '*' : ' '} ${k.id.slice(0, 12)}  ${k.created.slice(0, 19).replace('T', ' ')}  ${k.username}@${k.hostname}`);
      out.summary('key list', { keys });
    });
  commonOptions(key.command('add'))
    .description('add a passphrase (from --new-password-file, SCW_BACKUP_NEW_PASSWORD or a prompt)')
    .option('--new-password-file <file>', 'read the new passphrase from this file')
    .action(async (flags: KeyFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const id = await repo.addKey(await getNewPassphrase(flags.newPasswordFile), undefined, false, { onWarning: (m) => out.warning(m) });
      out.text(`added key ${id.slice(0, 12)}`);
      out.summary('key add', { id });
    });
  commonOptions(key.command('remove'))
    .description('remove a key (not the last one, nor the one used to open)')
    .argument('<id>', 'key id or unique prefix (at least 4 hex digits)')
    .action(async (id: string, flags: KeyFlags) => {
      const out = new Output(!!flags.json);
      const repo = await openRepo(flags);
      const removed = await repo.removeKey(id, { onWarning: (m) => out.warning(m) });
      out.text(`removed key ${removed.slice(0, 12)}`);
      out.summary('key remove', { id: removed });
    });
}
