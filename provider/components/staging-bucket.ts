/**
 * The staging bucket: where Block Storage exports its QCOW2 files for the engine to read, and where
 * restores upload the QCOW2 they import. It holds nothing worth keeping, so leftovers expire.
 */
import * as pulumi from '@pulumi/pulumi';
import * as scaleway from '@pulumiverse/scaleway';
import { InvalidInputError } from '../../engine';

/** Object Storage regions (Scaleway docs, "Object Storage — Availability"). */
export const OBJECT_STORAGE_REGIONS = ['fr-par', 'nl-ams', 'pl-waw'] as const;
export type ObjectStorageRegion = (typeof OBJECT_STORAGE_REGIONS)[number];

export interface StagingBucketArgs {
  /** Bucket name (globally unique); the provider derives one from the resource name when absent. */
  name?: string;
  /**
   * One of OBJECT_STORAGE_REGIONS: the region of the volumes it stages (Block API: a snapshot imports
   * only from a bucket of its region; an export request names no bucket region). A string, so a value
   * read from stack config needs no cast.
   */
  region: string;
  projectId?: pulumi.Input<string>;
  /** Days before leftover exports and incomplete multipart uploads are removed (1..365, default 1). */
  expireAfterDays?: number;
  /** Let `pulumi destroy` delete a bucket that still holds objects (default false). */
  forceDestroy?: boolean;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export class StagingBucket extends pulumi.ComponentResource {
  readonly bucket: scaleway.object.Bucket;
  readonly bucketName: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  /** S3 endpoint of the region, `https://s3.<region>.scw.cloud` (Scaleway docs, "Object Storage endpoints"). */
  readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: StagingBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): a bad input then fails before anything is registered.
    const region = checkRegion(name, args.region);
    const days = checkExpireAfterDays(name, args.expireAfterDays ?? 1);
    if (args.name !== undefined) checkBucketName(name, args.name);
    super('scw-backup:index:StagingBucket', name, {}, opts);

    this.bucket = new scaleway.object.Bucket(`${name}-bucket`, {
      name: args.name,
      region,
      projectId: args.projectId,
      forceDestroy: args.forceDestroy ?? false,
      // On a versioned bucket, expiration only adds a delete marker and the bytes stay billed: an
      // unversioned bucket frees them (and versioning can never be turned back off once enabled).
      versioning: { enabled: false },
      // Separate rules, whole bucket (no prefix): the provider's docs advise against a prefix on
      // AbortIncompleteMultipartUpload, since any incomplete upload is billed.
      lifecycleRules: [
        { id: 'expire-leftover-exports', enabled: true, expiration: { days } },
        { id: 'abort-incomplete-uploads', enabled: true, abortIncompleteMultipartUploadDays: days },
      ],
      tags: args.tags,
    }, { parent: this });

    this.bucketName = this.bucket.name;
    this.region = pulumi.output(region);
    this.endpoint = pulumi.output(`https://s3.${region}.scw.cloud`);
    this.registerOutputs({ bucketName: this.bucketName, region: this.region, endpoint: this.endpoint });
  }
}

function checkRegion(name: string, region: unknown): ObjectStorageRegion {
  if (typeof region === 'string' && (OBJECT_STORAGE_REGIONS as readonly string[]).includes(region)) {
    return region as ObjectStorageRegion;
  }
  throw new InvalidInputError('region', `${JSON.stringify(region)} is not a Scaleway Object Storage region; `
    + `set StagingBucket "${name}" region to one of ${OBJECT_STORAGE_REGIONS.join(', ')} (the region of its volumes)`);
}

function checkExpireAfterDays(name: string, days: number): number {
  if (Number.isInteger(days) && days >= 1 && days <= 365) return days;
  throw new InvalidInputError('expireAfterDays', `${String(days)} is not a whole number of days from 1 to 365; `
    + `set StagingBucket "${name}" expireAfterDays in that range (default 1)`);
}

/** Bucket naming rules (Scaleway docs, "Bucket naming rules"; same as S3's). */
function checkBucketName(name: string, bucket: string): void {
  const ok = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes('..')
    && !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
  if (ok) return;
  throw new InvalidInputError('name', `${JSON.stringify(bucket)} is not a valid bucket name; set StagingBucket "${name}" `
    + 'name to 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit');
}
