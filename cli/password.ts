import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { InvalidInputError, UsageError } from '../engine/errors';

export interface PasswordOptions {
  passwordFile?: string;
}

/** Ask on the terminal with echo off. */
export async function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, (answer) => resolve(answer));
      muted = true;
    });
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

export async function fromFile(path: string, option: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(option, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // Like restic: the first line, without its newline, is the passphrase.
  const line = text.split(/\r?\n/)[0];
  if (!line) throw new UsageError(option, `${path} is empty`);
  return line;
}

/** The repository passphrase: --password-file, then SCW_BACKUP_PASSWORD, then a prompt on a TTY. */
export async function getPassphrase(opts: PasswordOptions, confirm = false): Promise<string> {
  if (opts.passwordFile) return fromFile(opts.passwordFile, '--password-file');
  const env = process.env.SCW_BACKUP_PASSWORD;
  if (env) return env;
  if (!process.stdin.isTTY) {
    throw new UsageError('passphrase', 'none given: set SCW_BACKUP_PASSWORD, pass --password-file, or run on a terminal to be asked');
  }
  const first = await prompt('enter passphrase for repository: ');
  if (confirm) {
    const again = await prompt('enter the passphrase again: ');
    if (again !== first) throw new InvalidInputError('passphrase', 'the two entries differ');
  }
  if (!first) throw new InvalidInputError('passphrase', 'is empty');
  return first;
}

/** A second passphrase for `key add`: --new-password-file, SCW_BACKUP_NEW_PASSWORD, or a prompt. */
export async function getNewPassphrase(newPasswordFile: string | undefined): Promise<string> {
  if (newPasswordFile) return fromFile(newPasswordFile, '--new-password-file');
  const env = process.env.SCW_BACKUP_NEW_PASSWORD;
  if (env) return env;
  if (!process.stdin.isTTY) throw new UsageError('new passphrase', 'none given: set SCW_BACKUP_NEW_PASSWORD or pass --new-password-file');
  const first = await prompt('enter new passphrase: ');
  const again = await prompt('enter the new passphrase again: ');
  if (first !== again) throw new InvalidInputError('new passphrase', 'the two entries differ');
  if (!first) throw new InvalidInputError('new passphrase', 'is empty');
  return first;
}
