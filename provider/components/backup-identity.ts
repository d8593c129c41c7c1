/**
 * The backup's own IAM identity: an application, a policy that grants it exactly the permission sets
 * of the calls its work makes (engine/scaleway/permissions.ts), in one project, and an API key for
 * it. Nothing here uses a person's credentials. ObjectStorageBucketsWrite is never granted: no flow
 * changes a bucket (the staging bucket's lifecycle rule is Pulumi's, StagingBucket).
 */
import * as pulumi from '@pulumi/pulumi';
import * as scaleway from '@pulumiverse/scaleway';
import { InvalidInputError } from '../../engine';
import { permissionSetsFor } from '../../engine/scaleway';

/** What a backup of Block Storage volumes with cleanup needs (the default identity). */
export const BACKUP_PERMISSION_SETS: readonly string[] = permissionSetsFor();
/** Added for Instance backups, restores onto servers and whole-Instance restores. */
export const INSTANCE_PERMISSION_SET = 'InstancesFullAccess';

export interface BackupIdentityArgs {
  /** Name of the IAM application. */
  name: string;
  /** The only project the policy applies to; a UUID. Outputs are checked when they resolve. */
  projectId: pulumi.Input<string>;
  /** Organization of the application (default: the provider's). */
  organizationId?: pulumi.Input<string>;
  /** Also back up Instances (grants InstancesFullAccess); default false. */
  instances?: boolean;
  /**
   * Also restore with this key: `true` to new volumes (Block Storage only), `'attach'` attached to
   * or swapped onto a server, `'instances'` whole servers, and their deletion (both grant
   * InstancesFullAccess). Default false.
   */
  restores?: boolean | 'attach' | 'instances';
  /** Also apply retention (forget) and prune with this key (BackupSource `retention`). Needs `deletes`. */
  maintenance?: boolean;
  /**
   * Also take the direct-attach path (`--via attach`, or volumes over 1 TB from an Instance of their
   * zone): volumes are attached to the Instance the backup runs on (grants InstancesFullAccess).
   */
  directAttach?: boolean;
  /**
   * May delete objects (ObjectStorageObjectsDelete; default true). `false` gives a key that cannot
   * erase the store: staging objects are then left to the staging bucket's lifecycle rule, its lock
   * files go stale after 30 minutes, and retention needs another identity.
   */
  deletes?: boolean;
  description?: string;
}

export class BackupIdentity extends pulumi.ComponentResource {
  readonly application: scaleway.iam.Application;
  readonly policy: scaleway.iam.Policy;
  readonly apiKey: scaleway.iam.ApiKey;
  readonly applicationId: pulumi.Output<string>;
  readonly accessKey: pulumi.Output<string>;
  /** Always a secret output. */
  readonly secretKey: pulumi.Output<string>;

  constructor(name: string, args: BackupIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): a bad input then fails before anything is registered.
    if (typeof args.name !== 'string' || args.name.trim() === '') {
      throw new InvalidInputError('name', `BackupIdentity "${name}" needs a non-empty IAM application name`);
    }
    const projectId = checkUuid(name, 'projectId', args.projectId);
    const organizationId = args.organizationId === undefined ? undefined : checkUuid(name, 'organizationId', args.organizationId);
    const permissionSetNames: string[] = permissionSetsFor({
      instances: args.instances, restores: args.restores, maintenance: args.maintenance, deletes: args.deletes, directAttach: args.directAttach,
    });
    super('scw-backup:index:BackupIdentity', name, {}, opts);
    const description = args.description ?? 'scw-backup: backs up volumes of one project';

    this.application = new scaleway.iam.Application(`${name}-app`, {
      name: args.name,
      description,
      organizationId,
    }, { parent: this });

    // One rule scoped by projectIds, never organizationId: the IAM API takes one or the other per
    // rule, and an organization-wide rule would reach every project.
    this.policy = new scaleway.iam.Policy(`${name}-policy`, {
      name: `${args.name}-backup`,
      description: `scw-backup: least privilege for ${args.name} in one project`,
      applicationId: this.application.id,
      organizationId,
      rules: [{ projectIds: [projectId], permissionSetNames }],
    }, { parent: this });

    // The class already adds additionalSecretOutputs for secretKey; we state it too, so the guarantee
    // that the engine stores it encrypted in state does not rest on a provider detail.
    // dependsOn: the key is no use before its policy exists.
    this.apiKey = new scaleway.iam.ApiKey(`${name}-key`, {
      applicationId: this.application.id,
      defaultProjectId: projectId,
      description,
    }, { parent: this, dependsOn: [this.policy], additionalSecretOutputs: ['secretKey'] });

    this.applicationId = this.application.id;
    this.accessKey = this.apiKey.accessKey;
    this.secretKey = pulumi.secret(this.apiKey.secretKey);
    this.registerOutputs({ applicationId: this.applicationId, accessKey: this.accessKey, secretKey: this.secretKey });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Plain strings are checked now (synchronous throw); outputs when they resolve, failing the update. */
function checkUuid(name: string, input: string, value: pulumi.Input<string>): pulumi.Input<string> {
  const check = (v: unknown): string => {
    if (typeof v === 'string' && UUID.test(v)) return v;
    throw new InvalidInputError(input, `${JSON.stringify(v)} is not a UUID; set BackupIdentity "${name}" ${input} `
      + 'to the id shown in the Scaleway console (e.g. 11111111-2222-3333-4444-555555555555)');
  };
  const pending = pulumi.Output.isInstance(value) || value instanceof Promise;
  return pending ? pulumi.output(value).apply(check) : check(value);
}
