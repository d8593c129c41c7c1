/**
 * The storage backend: a flat namespace of immutable objects addressed by relative paths such as
 * `config`, `keys/<id>` or `packs/ab/<id>`. Small enough to implement in an afternoon (local folder,
 * S3). The store above it decides names and never asks to overwrite.
 */
/**
 * Where a backend may keep objects being written (the folder store's temporary files). Listing it
 * shows what interrupted writes left behind; prune removes those older than its grace period.
 */
export const TMP_DIR = '.tmp';

export interface ByteRange {
  offset: number;
  length: number;
  /**
   * A buffer of at least `length` bytes the backend may read into, returning a view of it, instead
   * of allocating (restore reuses page-aligned buffers: aligned-memory.ts). The caller must not
   * reuse it while it still needs the result. Backends that cannot fill it return their own buffer.
   */
  into?: Uint8Array;
  /**
   * Stops the read (a stopped backup): it then rejects with the signal's reason, and a backend that
   * holds a slot or a connection for it frees them at once. Backends whose reads are short may
   * ignore it.
   */
  signal?: AbortSignal;
}

export interface ObjectInfo {
  /** Path relative to the repository root, with `/` separators. */
  path: string;
  size: number;
  /**
   * When the object was written, when the backend knows it cheaply (folder: mtime; S3: the listing's
   * LastModified). Prune uses it for its grace period (FORMAT.md §12); undefined means unknown.
   */
  modified?: Date;
}

/**
 * An object written piece by piece (a pack streamed to the folder store's disk instead of held in
 * memory), stored under its name once complete: its name is the hash of its bytes, known only then.
 */
export interface ObjectDraft {
  /** Append `data`; it is written (or copied) when the promise settles, so the caller may reuse it. */
  write(data: Uint8Array): Promise<void>;
  /** Store what was written under `path`, atomically and never replacing, as put() does. */
  commit(path: string): Promise<void>;
  /** Drop what was written; safe to call again, or after a failed commit. */
  discard(): Promise<void>;
}

export interface Backend {
  /** Human-readable location, for messages (`/srv/store`, `s3://bucket/prefix`). */
  readonly location: string;
  /** Whole object, or `range` of it. Throws NotFoundError when missing, DamagedObjectError when short. */
  get(path: string, range?: ByteRange): Promise<Uint8Array>;
  /**
   * Store a new object atomically: readers see all of it or nothing. Throws ObjectExistsError when
   * the path exists, so content-addressed callers can treat that as "already stored".
   */
  put(path: string, data: Uint8Array): Promise<void>;
  /**
   * Start an object to be written in pieces (ObjectDraft), when the backend can keep it somewhere
   * other than memory (the folder store: a temporary file). Backends without it get whole objects
   * through put() (S3: a pack is one PUT, so it is built in memory).
   */
  draft?(name?: string): Promise<ObjectDraft>;
  /** Every object under `dir` (recursively; '' for the whole store), in no particular order. Missing dir → nothing. */
  list(dir: string): AsyncIterable<ObjectInfo>;
  /** Remove an object; a missing object is not an error. */
  delete(path: string): Promise<void>;
  /** Size (and, when known, time written) of an object, or undefined when it does not exist. */
  stat(path: string): Promise<ObjectInfo | undefined>;
  /**
   * The store's clock: the time the store would stamp on an object written now, on the same clock as
   * `ObjectInfo.modified` (folder: the file system's; S3: the server's). Lock staleness and prune's
   * grace period are judged on it, so a client whose own clock is off cannot misjudge them
   * (FORMAT.md §9). A backend without it is judged by this machine's clock (storeNow()).
   */
  now?(): Promise<Date>;
  /** Release resources (file handles, sockets). */
  close(): Promise<void>;
}

/** The store's current time (Backend.now()), or this machine's clock for a backend that cannot tell. */
export async function storeNow(backend: Backend): Promise<number> {
  return backend.now ? (await backend.now()).getTime() : Date.now();
}
