/**
 * Which format a local image file is read as (docs/QCOW2.md "Which format a backup
 * reads"). A raw disk holds whatever its guest wrote, QCOW2 headers included, so the content alone
 * never decides: QEMU closed the same hole by refusing to probe raw images into other formats. The
 * caller says, or the file's `.qcow2` name does; otherwise the file is raw, byte for byte.
 */
import { InvalidInputError, WrongFormatError } from '../errors';
import type { FormatReason } from './disk-source';

export type ImageFormat = 'raw' | 'qcow2';

const IMAGE_FORMATS: readonly string[] = ['raw', 'qcow2'] satisfies ImageFormat[];

export interface FormatChoice {
  format: ImageFormat;
  reason: FormatReason;
}

/** `raw` or `qcow2`, else an error naming `input` (an option such as `--format`). */
export function parseImageFormat(input: string, value: string): ImageFormat {
  if (!IMAGE_FORMATS.includes(value)) throw new InvalidInputError(input, `"${value}" is not raw or qcow2`);
  return value as ImageFormat;
}

/** The format to read `path` as: the caller's, else QCOW2 for a `.qcow2` name (any case), else raw. */
export function chooseImageFormat(path: string, format?: string): FormatChoice {
  if (format !== undefined) return { format: parseImageFormat('format', format), reason: 'option' };
  return /\.qcow2$/i.test(path) ? { format: 'qcow2', reason: 'file-name' } : { format: 'raw', reason: 'default' };
}

/** QCOW2 was chosen (by the caller or the name) for a file without the QCOW2 magic. */
export function notQcow2Error(path: string, reason: FormatReason): WrongFormatError {
  const why = reason === 'file-name' ? 'its name ends in .qcow2; if it is a raw disk, back it up with --format raw'
    : 'format qcow2 was asked for; check the path, or back it up as a raw disk (--format raw)';
  return new WrongFormatError(path, 'qcow2', `is not a QCOW2 image (it does not start with the magic "QFI\\xfb"), but ${why}`);
}

/** Said when a file read as raw by default starts with the QCOW2 magic: the choice, and how to make the other. */
export function rawLookalikeWarning(path: string): string {
  return `${path}: starts with the QCOW2 magic, but is backed up as a raw disk, byte for byte: its name does not end in .qcow2, ` +
    'no format was given, and what a guest writes into its disk never decides the format. ' +
    'If it is a QCOW2 image (OpenNebula names its QCOW2 disks disk.0), pass --format qcow2';
}
