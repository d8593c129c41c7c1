/**
 * The emulator's object storage side: writing a disk as a real QCOW2 object into the bucket (what
 * Scaleway's export does) and reading a QCOW2 object back (what its import does), against the test
 * S3 server through @aws-sdk/client-s3.
 *
 * The QCOW2 comes from `qemu-img convert -O qcow2` when qemu-img is installed (the closest thing to
 * what Scaleway's own tooling writes), else from the engine's writer (qcow2Stream). Imports are read
 * with the engine's reader (openQcow2), which refuses encryption, backing files and external data
 * files; Scaleway also refuses zstd-compressed images, checked here from the header.
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BackupError } from '../../engine/errors';
import { openQcow2, planQcow2, qcow2Stream, type Qcow2Image } from '../../engine/qcow2';
import { FileRangeReader } from '../../engine/source/range-reader';
import { RawFileSource } from '../../engine/source/raw-file';

const run = promisify(execFile);

export interface S3Settings {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The server's multipart limits (test/rig/s3-limits.ts): exports are cut into parts that fit them. */
  limits?: { maxParts: number; minPartSize: number };
}

/** Which QCOW2 writer exports use: qemu-img when on PATH (`auto`), or one of them by force. */
export type Qcow2Writer = 'auto' | 'qemu-img' | 'builtin';

/** Content-Type Scaleway puts on exported objects (seen on a real Instance export). */
const QCOW2_CONTENT_TYPE = 'application/x-qemu-disk';

export function makeS3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    endpoint: s.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    // Streamed PutObject bodies would otherwise be sent aws-chunked, which s3rver stores verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

let qemuImg: Promise<boolean> | undefined;

/** True when `qemu-img` runs (checked once per process). */
export function hasQemuImg(): Promise<boolean> {
  qemuImg ??= run('qemu-img', ['--version']).then(
    () => true,
    () => false,
  );
  return qemuImg;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/**
 * An empty object at the export's key. A real Instance export showed a 0-byte object in the bucket
 * while the snapshot was still `exporting`; readers must wait for the snapshot, not for the key.
 */
export async function putPlaceholder(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentType: QCOW2_CONTENT_TYPE }));
}

/** Write the raw disk at `rawPath` as a QCOW2 object `bucket/key`. `tempPath` may be used for staging. */
export async function writeQcow2Object(opts: {
  s3: S3Client;
  limits?: S3Settings['limits'];
  bucket: string;
  key: string;
  rawPath: string;
  tempPath: string;
  writer: Qcow2Writer;
}): Promise<void> {
  const useQemu = opts.writer === 'qemu-img' || (opts.writer === 'auto' && (await hasQemuImg()));
  if (useQemu) {
    try {
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', opts.rawPath, opts.tempPath]);
      await upload(opts.s3, opts.bucket, opts.key, createReadStream(opts.tempPath), (await stat(opts.tempPath)).size, opts.limits);
    } finally {
      await rm(opts.tempPath, { force: true });
    }
    return;
  }
  const source = await RawFileSource.open(opts.rawPath);
  try {
    const plan = await planQcow2(source);
    await upload(opts.s3, opts.bucket, opts.key, Readable.from(qcow2Stream(source, { plan })), plan.length, opts.limits);
  } finally {
    await source.close();
  }
}

/** Scaleway writes its exports itself; here they go up in parts the test server's limits accept. */
async function upload(s3: S3Client, bucket: string, key: string, body: Readable, length: number, limits: S3Settings['limits']): Promise<void> {
  const minPart = limits?.minPartSize ?? 5 * 1024 * 1024;
  const partSize = Math.max(minPart, Math.ceil(length / (limits?.maxParts ?? 1000)));
  await new Upload({ client: s3, partSize, params: { Bucket: bucket, Key: key, Body: body, ContentType: QCOW2_CONTENT_TYPE } }).done();
}

/** Why an import is refused: the request field to blame and a message for the user. */
export class ImportRefused extends Error {
  constructor(
    readonly field: 'bucket' | 'key' | 'size',
    message: string,
  ) {
    super(message);
    this.name = 'ImportRefused';
  }
}

/**
 * Download `bucket/key` to `tempPath` and open it as a QCOW2 image Scaleway would accept. The caller
 * closes the image and removes `tempPath` (also when this throws).
 */
export async function fetchQcow2(s3: S3Client, bucket: string, key: string, tempPath: string): Promise<Qcow2Image> {
  let body: unknown;
  try {
    body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
  } catch (err) {
    if (statusOf(err) === 404) throw new ImportRefused('key', `there is no object "${key}" in bucket "${bucket}"`);
    throw err;
  }
  await pipeline(body as Readable, createWriteStream(tempPath));
  const reader = await FileRangeReader.open(tempPath);
  let image: Qcow2Image;
  try {
    image = await openQcow2(reader);
  } catch (err) {
    // openQcow2 closed the reader. Everything it refuses, Scaleway refuses too.
    if (err instanceof BackupError) throw new ImportRefused('key', `${bucket}/${key} cannot be imported: ${err.message}`);
    throw err;
  }
  if (image.description.compression === 'zstd') {
    await image.close();
    throw new ImportRefused('key', `${bucket}/${key} cannot be imported: zstd-compressed QCOW2 images are not supported (use zlib or no compression)`);
  }
  return image;
}
