/**
 * An edge cluster for KVM/LXC, OpenNebula-style, on Elastic Metal: 3 hosts by default on a Private
 * Network with a NAT Public Gateway, and flexible IPs for the VMs. `inventory` is the export a
 * provisioning tool reads (for Ansible: `pulumi stack output inventory --json`).
 *
 * The hosts' images are local files (OpenNebula's image datastore, /var/lib/one/datastores/1), not
 * Scaleway volumes, so a BackupSource cannot back them up: it covers Block Storage volumes and
 * Instances. Each host runs the scw-backup CLI instead, from a cron job or a systemd timer, into
 * the Object Storage store. `backupCommands` gives each host's command line. Before the first run,
 * on each host: `scw-backup init --repo s3://<storeBucket>/edge/<host>`. The host also needs the
 * passphrase in /etc/scw-backup/password and S3 keys in SCW_ACCESS_KEY/SCW_SECRET_KEY (docs/S3.md).
 */
import * as pulumi from '@pulumi/pulumi';
import { EdgeCluster } from 'scw-backup/provider';

/** OpenNebula's default image datastore (id 1) on a host with the local (ssh) transfer driver. */
const IMAGE_DATASTORE = '/var/lib/one/datastores/1';

const config = new pulumi.Config();
const zone = config.get('zone') ?? 'fr-par-2';
const prefix = config.get('name') ?? 'edge';
const storeBucket = config.require('storeBucket');
// The zone's region (fr-par-2 → fr-par): the store is in the same region by default.
const storeRegion = config.get('storeRegion') ?? zone.replace(/-[0-9]+$/, '');

const cluster = new EdgeCluster('edge', {
  name: prefix,
  hosts: config.getNumber('hosts') ?? 3,
  offer: config.get('offer') ?? 'EM-I220E-NVME',
  os: config.get('os') ?? 'ubuntu_2204',
  osId: config.get('osId'),
  diskSizeGb: config.getNumber('diskSizeGb') ?? 100,
  zone,
  sshKeyIds: config.requireObject<string[]>('sshKeyIds'),
  flexibleIps: config.getNumber('flexibleIps') ?? 2,
  projectId: config.get('projectId'),
  tags: ['scw-backup-example', `edge-cluster=${prefix}`],
});

/**
 * What each host runs, e.g. daily (`OnCalendar=daily` in a systemd timer): every image of the
 * datastore, one snapshot each, into the host's own store at s3://<storeBucket>/edge/<host>. The engine
 * recognises QCOW2 images by their header and stores the guest disk. It reads only allocated clusters.
 */
function backupCommand(host: string): string {
  const backup = `scw-backup backup --repo s3://${storeBucket}/edge/${host} --s3-region ${storeRegion} `
    + `--password-file /etc/scw-backup/password --host ${host} --tag cluster=${prefix}`;
  // `[ -f ]` skips the unexpanded pattern of an empty datastore.
  return `for image in ${IMAGE_DATASTORE}/*; do [ -f "$image" ] || continue; ${backup} "$image"; done`;
}

export const hosts = cluster.hosts;
export const inventory = cluster.inventory;
export const gatewayIp = cluster.gatewayIp;
export const flexibleIps = cluster.flexibleIps;
export const privateNetworkId = cluster.privateNetworkId;
export const backupCommands: Record<string, string> = Object.fromEntries(cluster.hostNames.map((h) => [h, backupCommand(h)]));
