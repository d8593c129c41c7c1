/**
 * Exports to and imports from Object Storage, shared by the Block API (SBS snapshots) and the
 * Instance API (local-volume snapshots). Validation happens while the request is answered (a bad
 * bucket, key or image is an error response); the conversion runs in the background and ends by
 * setting the snapshot's status, the way the real APIs report progress.
 */
import { rm } from 'node:fs/promises';
import type { Qcow2Image } from '../../engine/qcow2';
import { badField } from './fields';
import { invalidRequest, serverError } from './http';
import { fetchQcow2, ImportRefused, putPlaceholder, writeQcow2Object } from './qcow2-io';
import type { EmulatorState, ErrorStyle } from './state';

/**
 * Scaleway docs-content pages/instances/api-cli/snapshot-import-export-feature.mdx (validated
 * 2025-05-28): "Snapshots should have a volume size between one gigabyte (GB) and one terabyte (TB)";
 * on import "the API might raise other errors if [...] the volume is bigger than one terabyte". 1 TB
 * is read as 10^12 bytes (Scaleway sizes volumes in GB of 10^9). The 1 GB minimum is not enforced
 * (tests use small volumes), and the error's type and status are guesses (README.md).
 */
export const TRANSFER_LIMIT = 1_000_000_000_000;

function checkTransferSize(state: EmulatorState, size: number, style: ErrorStyle, field: string, what: string): void {
  if (size > state.config.transferLimit) {
    throw badField(style, field, `${what} is ${size} bytes: snapshots should have a volume size between 1 GB and ${state.config.transferLimit} bytes to be exported or imported`);
  }
}

/** Scaleway docs: the key should end in `.qcow` or `.qcow2`; the emulator insists. */
function checkKey(key: unknown, style: ErrorStyle): string {
  if (typeof key !== 'string' || key.length === 0) throw badField(style, 'key', 'key is required');
  if (!/\.qcow2?$/.test(key)) throw badField(style, 'key', `key "${key}" must end in .qcow or .qcow2`);
  return key;
}

/**
 * Start exporting disk `diskId` to `bucket/key`. `setStatus` moves the snapshot: `exporting` now, then
 * `done` (or `error`). Operation faults may leave it `exporting` forever or end it in `error`.
 */
export async function startExport(
  state: EmulatorState,
  opts: { zone: string; diskId: string; size: number; bucket: unknown; key: unknown; style: ErrorStyle; done: string; setStatus: (status: string) => void },
): Promise<{ bucket: string; key: string }> {
  checkTransferSize(state, opts.size, opts.style, 'snapshot_id', `snapshot ${opts.diskId}`);
  const key = checkKey(opts.key, opts.style);
  const bucket = await state.checkBucket(opts.zone, opts.bucket, opts.style);
  try {
    await putPlaceholder(state.s3, bucket, key);
  } catch (err) {
    throw serverError(500, `could not write to bucket ${bucket}: ${err instanceof Error ? err.message : String(err)}`);
  }
  opts.setStatus('exporting');
  if (state.faults.takeOperation('export-stuck')) return { bucket, key };
  const fail = state.faults.takeOperation('export-error');
  state.jobs.after(state.config.delays.export, async () => {
    if (fail) {
      opts.setStatus('error');
      return;
    }
    try {
      await writeQcow2Object({
        s3: state.s3,
        limits: state.config.s3Limits,
        bucket,
        key,
        rawPath: state.disks.path(opts.diskId),
        tempPath: state.disks.tempPath('export'),
        writer: state.config.qcow2Writer,
      });
      opts.setStatus(opts.done);
    } catch (err) {
      opts.setStatus('error');
      throw err;
    }
  });
  return { bucket, key };
}

/** A QCOW2 object checked and downloaded, ready to become a snapshot's disk. */
export interface PendingImport {
  image: Qcow2Image;
  tempPath: string;
  /** The image's virtual size in bytes. */
  virtualSize: number;
  bucket: string;
  key: string;
}

/**
 * Check and fetch `bucket/key` for an import. QCOW2s Scaleway refuses (not QCOW2, encrypted, with a
 * backing file, zstd-compressed) are answered with 400 `invalid_request_error` + `fields`, which the
 * SDK turns into InvalidArgumentsError (Scaleway docs name `invalid_request_error` for these).
 */
export async function prepareImport(
  state: EmulatorState,
  opts: { zone: string; bucket: unknown; key: unknown; size: unknown; style: ErrorStyle },
): Promise<PendingImport> {
  const key = checkKey(opts.key, opts.style);
  const bucket = await state.checkBucket(opts.zone, opts.bucket, opts.style);
  if (opts.size !== undefined && opts.size !== null && (typeof opts.size !== 'number' || !Number.isSafeInteger(opts.size) || opts.size <= 0 || opts.size % 512 !== 0)) {
    throw badField(opts.style, 'size', 'size must be a positive multiple of 512 bytes');
  }
  const tempPath = state.disks.tempPath('import');
  let image: Qcow2Image;
  try {
    image = await fetchQcow2(state.s3, bucket, key, tempPath);
  } catch (err) {
    await rm(tempPath, { force: true });
    if (err instanceof ImportRefused) throw invalidRequest(err.field, err.message);
    throw err;
  }
  try {
    if (typeof opts.size === 'number' && opts.size < image.size) throw badField(opts.style, 'size', `size ${opts.size} is smaller than the image's virtual size ${image.size}`);
    checkTransferSize(state, typeof opts.size === 'number' ? opts.size : image.size, opts.style, 'size', `the volume of ${bucket}/${key}`);
  } catch (err) {
    await image.close();
    await rm(tempPath, { force: true });
    throw err;
  }
  return { image, tempPath, virtualSize: image.size, bucket, key };
}

/** Turn a prepared import into disk `diskId` of `size` bytes in the background, then `setStatus(done)`. */
export function finishImport(
  state: EmulatorState,
  pending: PendingImport,
  opts: { diskId: string; size: number; done: string; setStatus: (status: string) => void },
): void {
  const release = async (): Promise<void> => {
    await pending.image.close().catch(() => {});
    await rm(pending.tempPath, { force: true });
  };
  const fail = state.faults.takeOperation('import-error');
  state.jobs.after(
    state.config.delays.import,
    async () => {
      try {
        if (fail) {
          await state.disks.createEmpty(opts.diskId, opts.size);
          opts.setStatus('error');
          return;
        }
        await state.disks.createFrom(opts.diskId, pending.image, opts.size);
        opts.setStatus(opts.done);
      } catch (err) {
        opts.setStatus('error');
        throw err;
      } finally {
        await release();
      }
    },
    release,
  );
}
