/**
 * Every error the engine throws on purpose is a BackupError with a stable `code`, so the CLI can print
 * the message without a stack trace and automation can branch on the code.
 */
export class BackupError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The passphrase does not open any key of the repository. */
export class WrongPassphraseError extends BackupError {
  constructor(location: string) {
    super('WRONG_PASSPHRASE', `the passphrase does not open any key of the repository at ${location}`);
  }
}

/** A stored object failed authentication or parsing: it was truncated, changed or is not ours. */
export class DamagedObjectError extends BackupError {
  readonly object: string;
  readonly detail: string;
  constructor(object: string, detail: string, options?: { cause?: unknown }) {
    super('DAMAGED_OBJECT', `${object} is damaged: ${detail}`, options);
    this.object = object;
    this.detail = detail;
  }
}

/** The caller gave something we cannot use (an option, a path, an id). */
export class InvalidInputError extends BackupError {
  readonly input: string;
  constructor(input: string, what: string) {
    super('INVALID_INPUT', `${input}: ${what}`);
    this.input = input;
  }
}

/**
 * The command line itself is wrong (a snapshot argument that is no id, a passphrase nobody gave):
 * a usage error, which the CLI reports with exit code 2 like an unknown option.
 */
export class UsageError extends InvalidInputError {}

/** A repository, snapshot or object that was asked for does not exist. */
export class NotFoundError extends BackupError {
  constructor(what: string) {
    super('NOT_FOUND', what);
  }
}

/** A write would replace an object that already exists: the store never overwrites. */
export class ObjectExistsError extends BackupError {
  readonly object: string;
  constructor(object: string) {
    super('OBJECT_EXISTS', `${object} already exists and the store never overwrites an object`);
    this.object = object;
  }
}

/**
 * The user (Ctrl-C) or the system (a Serverless Job's timeout) asked the command to stop: it stopped
 * at the next safe point and cleaned up what it had created. The AbortSignal's reason of an
 * interrupted operation (engine options `signal`).
 */
export class InterruptedError extends BackupError {
  readonly signal: string;
  /**
   * What the interrupted work removed of what it had created outside the store (Scaleway snapshots,
   * volumes, staging objects), and what it could not: set by the flows that create such things.
   */
  readonly cleanup?: { removed: string[]; failed: Array<{ what: string; error: string }> };
  constructor(signal: string, cleanup?: InterruptedError['cleanup']) {
    super('INTERRUPTED', `interrupted by ${signal}`);
    this.signal = signal;
    if (cleanup) this.cleanup = cleanup;
  }

  /** "removed what it had created: snapshot X, s3://b/k; could not remove: ...", when the work said. */
  describeCleanup(): string | undefined {
    if (!this.cleanup) return undefined;
    const { removed, failed } = this.cleanup;
    const said = removed.length ? `removed what it had created: ${removed.join(', ')}` : 'it had created nothing outside the store';
    return failed.length ? `${said}; could not remove: ${failed.map((f) => `${f.what} (${f.error})`).join(', ')}` : said;
  }
}

/** An input image uses a feature we refuse to read (encryption, a backing file, ...). */
export class UnsupportedFeatureError extends BackupError {
  readonly feature: string;
  constructor(input: string, feature: string, what: string) {
    super('UNSUPPORTED_FEATURE', `${input}: ${what}`);
    this.feature = feature;
  }
}

/** An image is not in the format its caller or its name says (`--format qcow2` on a raw disk). */
export class WrongFormatError extends BackupError {
  readonly input: string;
  readonly format: string;
  constructor(input: string, format: string, what: string) {
    super('WRONG_FORMAT', `${input}: ${what}`);
    this.input = input;
    this.format = format;
  }
}

/** A file system refuses a file this large (EFBIG: ext4 with 4 KiB blocks stops at 16 TiB). */
export class FileTooLargeError extends BackupError {
  readonly path: string;
  readonly size: number;
  constructor(path: string, size: number, options?: { cause?: unknown }) {
    super('FILE_TOO_LARGE', `${path}: the file system there cannot hold a file of ${size} bytes; ` +
      'write it to a file system that allows files this large (ext4 with 4 KiB blocks stops at 16 TiB)', options);
    this.path = path;
    this.size = size;
  }
}
