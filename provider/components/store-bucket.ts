/**
 * The bucket a BackupStore lives in, when Pulumi should create it: never public, optionally with
 * Object Lock and a default retention, so that a stolen key cannot delete backups younger than the
 * retention (docs/OPERATIONS.md "Object Lock"). Scaleway turns Object Lock on only at creation and
 * it requires versioning (Scaleway docs, "Object Lock"); GOVERNANCE mode can be lifted by an
 * administrator, COMPLIANCE mode by nobody until it expires.
 */
import * as pulumi from '@pulumi/pulumi';
import * as scaleway from '@pulumiverse/scaleway';
import { InvalidInputError } from '../../engine';
import { OBJECT_STORAGE_REGIONS } from './staging-bucket';

export interface StoreBucketArgs {
  name?: string;
  region: string;
  projectId?: pulumi.Input<string>;
  /** Key prefix of the store in the bucket (default `scw-backup`). */
  prefix?: string;
  /** Object Lock default retention in days (1..3650); absent: no Object Lock. */
  lockDays?: number;
  lockMode?: 'GOVERNANCE' | 'COMPLIANCE';
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export class StoreBucket extends pulumi.ComponentResource {
  readonly bucket: scaleway.object.Bucket;
  readonly lock?: scaleway.object.BucketLockConfiguration;
  /** `s3://BUCKET/PREFIX`: a BackupStore's `store.url`. */
  readonly url: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: StoreBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!(OBJECT_STORAGE_REGIONS as readonly string[]).includes(args.region)) {
      throw new InvalidInputError('region', `${JSON.stringify(args.region)} is not one of ${OBJECT_STORAGE_REGIONS.join(', ')} (StoreBucket "${name}")`);
    }
    const prefix = (args.prefix ?? 'scw-backup').replace(/^\/+|\/+$/g, '');
    if (!/^[A-Za-z0-9._/-]+$/.test(prefix) || prefix.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new InvalidInputError('prefix', `${JSON.stringify(args.prefix)} is not a usable key prefix (StoreBucket "${name}")`);
    }
    if (args.lockDays !== undefined && !(Number.isInteger(args.lockDays) && args.lockDays >= 1 && args.lockDays <= 3650)) {
      throw new InvalidInputError('lockDays', `${String(args.lockDays)} is not a whole number of days from 1 to 3650 (StoreBucket "${name}")`);
    }
    super('scw-backup:index:StoreBucket', name, {}, opts);
    const locked = args.lockDays !== undefined;
    this.bucket = new scaleway.object.Bucket(`${name}-bucket`, {
      name: args.name, region: args.region, projectId: args.projectId, tags: args.tags,
      // Backups are never destroyed with the stack by accident.
      forceDestroy: false,
      objectLockEnabled: locked,
      versioning: { enabled: locked },
    }, { parent: this, protect: opts?.protect ?? true });
    if (locked) {
      this.lock = new scaleway.object.BucketLockConfiguration(`${name}-lock`, {
        bucket: this.bucket.name, region: args.region, projectId: args.projectId,
        rule: { defaultRetention: { mode: args.lockMode ?? 'GOVERNANCE', days: args.lockDays } },
      }, { parent: this });
    }
    this.url = pulumi.interpolate`s3://${this.bucket.name}/${prefix}`;
    this.endpoint = pulumi.output(`https://s3.${args.region}.scw.cloud`);
    this.registerOutputs({ url: this.url, endpoint: this.endpoint });
  }
}
