/**
 * An edge cluster on Elastic Metal, OpenNebula-style: N bare-metal hosts for KVM/LXC on a Private
 * Network of their own VPC, a Public Gateway that gives that network outbound NAT, and K flexible IPs
 * for the VMs' public addresses. It stops once the OS is installed. Its `inventory` output is what a
 * provisioning tool (Ansible, OpenNebula's oneprovision) reads to install the hypervisor stack.
 *
 * Backups of the hosts' local images are not done here: a BackupSource covers Scaleway volumes, not
 * files on a host. Each host runs the `scw-backup backup` CLI (examples/pulumi/edge-cluster).
 */
import * as pulumi from '@pulumi/pulumi';
import * as scaleway from '@pulumiverse/scaleway';
import { InvalidInputError } from '../../engine';

/**
 * The operating systems a host can get, by the name and version the Elastic Metal API lists them under
 * (GET /baremetal/v1/zones/{zone}/os). `getOs` resolves them to the zone's OS id.
 */
export const EDGE_CLUSTER_OSES = {
  ubuntu_2204: { name: 'Ubuntu', version: '22.04 LTS (Jammy Jellyfish)' },
  ubuntu_2404: { name: 'Ubuntu', version: '24.04 LTS (Noble Numbat)' },
} as const;
export type EdgeClusterOs = keyof typeof EDGE_CLUSTER_OSES;

/**
 * The Elastic Metal "Private Network" option. The provider rejects `privateNetworks` unless `options`
 * has this exact id: terraform-provider-scaleway's baremetal customDiffPrivateNetworkOption compares
 * the option ids with this literal, so looking the id up by name would gain nothing.
 */
export const PRIVATE_NETWORK_OPTION_ID = 'cd4158d7-2d65-49be-8803-c4b8ab6f760c';

const HOSTS = { min: 1, max: 10 } as const;
const DISK_SIZE_GB = { min: 32, max: 1024 } as const;
const FLEXIBLE_IPS = { min: 0, max: 5 } as const;
/**
 * Bytes per GB in a partitioning schema. Partition sizes are in bytes (Scaleway docs, "Configure
 * custom disk partitioning"), and the provider's partition schema uses decimal GB: its "20GB" root
 * is 20000000000 bytes.
 */
const GB = 1_000_000_000;
/** Where getPartitionSchema puts the rest of each disk. The provider accepts only /data or /home. */
const DATA_MOUNTPOINT = '/data';

export interface EdgeClusterArgs {
  /** Prefix of the servers' and networks' names, e.g. `edge` gives hosts edge-1, edge-2, and so on (default: the resource name). */
  name?: string;
  /** Number of Elastic Metal hosts, 1..10. */
  hosts: number;
  /** Elastic Metal offer, by name (`EM-I220E-NVME`) or id. */
  offer: string;
  /** One of EDGE_CLUSTER_OSES, as a string so that a value read from stack config needs no cast. */
  os: string;
  /**
   * The OS id to install instead of the one `os` resolves to, for an OS the lookup by name does not
   * find. Use it to pin an id. `os` is still validated and names the OS in the inventory.
   */
  osId?: string;
  /**
   * Size in GB (10^9 bytes) of each host's root filesystem, 32..1024. When set, the hosts are installed
   * with the offer's default partitioning schema (getPartitionSchema), with the root partition set to
   * this size and the rest of each disk in an ext4 filesystem at /data. When absent, the offer's
   * default layout is used unchanged.
   */
  diskSizeGb?: number;
  /** Elastic Metal zone, e.g. `fr-par-2`. The VPC and the Private Network go in its region. */
  zone: string;
  /** IAM SSH key ids (UUIDs) installed on every host; at least one, since Ubuntu installs require SSH keys. */
  sshKeyIds: string[];
  /** Number of flexible IPs for the VMs' public addresses, 0..5 (default 0), given to the hosts round-robin. */
  flexibleIps?: number;
  /** Public Gateway type (default `VPC-GW-S`). */
  gatewayType?: string;
  projectId?: pulumi.Input<string>;
  tags?: string[];
}

/** A host as a provisioning tool sees it. */
export interface EdgeHost {
  id: string;
  name: string;
  /** The server's own public IPv4 address. */
  publicIp?: string;
  /** Its IPv4 address on the cluster's Private Network (IPAM). */
  privateIp?: string;
}

export interface EdgeInventory {
  hosts: Array<EdgeHost & { zone: string; os: string; flexibleIps: string[] }>;
  network: {
    zone: string;
    region: string;
    vpcId: string;
    privateNetworkId: string;
    /** CIDR of the Private Network's IPv4 subnet, when the API has given it. */
    privateSubnet?: string;
    gatewayId: string;
    gatewayIp: string;
    flexibleIps: string[];
  };
}

export class EdgeCluster extends pulumi.ComponentResource {
  readonly vpc: scaleway.network.Vpc;
  readonly privateNetwork: scaleway.network.PrivateNetwork;
  readonly gatewayPublicIp: scaleway.network.PublicGatewayIp;
  readonly gateway: scaleway.network.PublicGateway;
  readonly gatewayNetwork: scaleway.network.GatewayNetwork;
  readonly servers: scaleway.elasticmetal.Server[];
  readonly ips: scaleway.elasticmetal.Ip[];
  /** The hosts' names, known before anything is created (`<name>-1`, `<name>-2`, and so on). */
  readonly hostNames: string[];
  readonly hosts: pulumi.Output<EdgeHost[]>;
  readonly vpcId: pulumi.Output<string>;
  readonly privateNetworkId: pulumi.Output<string>;
  readonly gatewayId: pulumi.Output<string>;
  readonly gatewayIp: pulumi.Output<string>;
  readonly flexibleIps: pulumi.Output<string[]>;
  readonly inventory: pulumi.Output<EdgeInventory>;

  constructor(name: string, args: EdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): a bad input then fails before anything is registered.
    const prefix = checkName(name, args.name ?? name);
    const hostCount = checkCount(name, 'hosts', args.hosts, HOSTS, 'hosts');
    const offer = checkOffer(name, args.offer);
    const os = checkOs(name, args.os);
    if (args.osId !== undefined) checkUuid(name, 'osId', args.osId, 'an Elastic Metal OS id');
    const diskSizeGb = args.diskSizeGb === undefined ? undefined : checkCount(name, 'diskSizeGb', args.diskSizeGb, DISK_SIZE_GB, 'GB');
    const zone = checkZone(name, args.zone);
    const sshKeyIds = checkSshKeyIds(name, args.sshKeyIds);
    const ipCount = checkCount(name, 'flexibleIps', args.flexibleIps ?? 0, FLEXIBLE_IPS, 'flexible IPs');
    super('scw-backup:index:EdgeCluster', name, {}, opts);

    // Private Networks and VPCs are regional: the zone's region (fr-par-2 → fr-par).
    const region = zone.replace(/-[0-9]+$/, '');
    const { projectId, tags } = args;

    this.vpc = new scaleway.network.Vpc(`${name}-vpc`, { name: `${prefix}-vpc`, region, projectId, tags }, { parent: this });
    this.privateNetwork = new scaleway.network.PrivateNetwork(`${name}-pn`, {
      name: `${prefix}-hosts`, vpcId: this.vpc.id, region, projectId, tags,
    }, { parent: this });

    this.gatewayPublicIp = new scaleway.network.PublicGatewayIp(`${name}-gw-ip`, { zone, projectId, tags }, { parent: this });
    this.gateway = new scaleway.network.PublicGateway(`${name}-gw`, {
      name: `${prefix}-gw`, type: args.gatewayType ?? 'VPC-GW-S', zone, ipId: this.gatewayPublicIp.id, projectId, tags,
    }, { parent: this });
    // Masquerade is the outbound NAT. Pushing the default route gives it to whatever takes DHCP on the
    // network, i.e. the VMs bridged on it. The hosts keep their own public interface for their traffic.
    this.gatewayNetwork = new scaleway.network.GatewayNetwork(`${name}-gw-net`, {
      gatewayId: this.gateway.id, privateNetworkId: this.privateNetwork.id, zone,
      enableMasquerade: true, ipamConfigs: [{ pushDefaultRoute: true }],
    }, { parent: this });

    const osId: pulumi.Input<string> = args.osId ?? scaleway.elasticmetal.getOsOutput(
      { zone, ...EDGE_CLUSTER_OSES[os] }, { parent: this },
    ).apply((r) => r.osId ?? r.id);
    const partitioning = diskSizeGb === undefined ? undefined : this.partitioning(zone, offer, osId, diskSizeGb);

    this.hostNames = Array.from({ length: hostCount }, (_, i) => `${prefix}-${i + 1}`);
    this.servers = this.hostNames.map((hostName, i) => new scaleway.elasticmetal.Server(`${name}-host-${i + 1}`, {
      name: hostName,
      hostname: hostName,
      description: `edge cluster ${prefix}: host ${i + 1} of ${hostCount}`,
      zone,
      offer,
      os: osId,
      sshKeyIds,
      partitioning,
      options: [{ id: PRIVATE_NETWORK_OPTION_ID }],
      privateNetworks: [{ id: this.privateNetwork.id }],
      projectId,
      tags,
    }, { parent: this }));

    // Round-robin: IP k goes to host k mod N, so a host can own several IPs when K > N.
    this.ips = Array.from({ length: ipCount }, (_, k) => new scaleway.elasticmetal.Ip(`${name}-fip-${k + 1}`, {
      zone,
      serverId: this.servers[k % hostCount].id,
      description: `edge cluster ${prefix}: VM address ${k + 1}, on ${this.hostNames[k % hostCount]}`,
      projectId,
      tags,
    }, { parent: this }));

    this.hosts = pulumi.all(this.servers.map(hostOf));
    this.vpcId = this.vpc.id;
    this.privateNetworkId = this.privateNetwork.id;
    this.gatewayId = this.gateway.id;
    this.gatewayIp = this.gatewayPublicIp.address;
    this.flexibleIps = pulumi.all(this.ips.map((ip) => ip.ipAddress.apply(bareAddress)));
    this.inventory = pulumi.all([
      this.hosts, this.flexibleIps, this.vpcId, this.privateNetworkId, this.privateNetwork.ipv4Subnet,
      this.gatewayId, this.gatewayIp,
    ]).apply(([hosts, flexibleIps, vpcId, privateNetworkId, subnet, gatewayId, gatewayIp]): EdgeInventory => ({
      hosts: hosts.map((h, i) => ({
        ...h, zone, os, flexibleIps: flexibleIps.filter((_, k) => k % hostCount === i),
      })),
      network: {
        zone, region, vpcId, privateNetworkId,
        ...(subnet?.subnet ? { privateSubnet: subnet.subnet } : {}),
        gatewayId, gatewayIp, flexibleIps,
      },
    }));

    this.registerOutputs({
      hosts: this.hosts, vpcId: this.vpcId, privateNetworkId: this.privateNetworkId, gatewayId: this.gatewayId,
      gatewayIp: this.gatewayIp, flexibleIps: this.flexibleIps, inventory: this.inventory,
    });
  }

  /**
   * The offer's default partitioning schema for this OS (getPartitionSchema: swap, root, and the rest
   * of each disk at /data), with the root partition set to diskSizeGb. The server resource has no
   * install-disk-size argument, only `partitioning`, so the size can only be passed this way.
   */
  private partitioning(zone: string, offer: string, osId: pulumi.Input<string>, diskSizeGb: number): pulumi.Output<string> {
    // getPartitionSchema takes an offer id; the server takes a name too, and the provider resolves it.
    const offerId: pulumi.Input<string> = isUuid(offer) ? offer
      : scaleway.elasticmetal.getOfferOutput({ zone, name: offer }, { parent: this }).apply((r) => r.offerId ?? r.id);
    return scaleway.elasticmetal.getPartitionSchemaOutput({
      offerId, osId, swap: true, extraPartition: true, ext4Mountpoint: DATA_MOUNTPOINT,
    }, { parent: this }).apply((r) => withRootSize(r.jsonPartition, diskSizeGb));
  }
}

/**
 * Sets every `root` partition of a partitioning schema (the JSON of the Elastic Metal API's Schema, as
 * getPartitionSchema returns it) to `diskSizeGb`. With RAID 1, each disk holds one root partition, and
 * all of them must have the same size.
 */
export function withRootSize(schemaJson: string, diskSizeGb: number): string {
  const schema = JSON.parse(schemaJson) as { disks?: Array<{ partitions?: Array<Record<string, unknown>> }> };
  let roots = 0;
  for (const disk of schema.disks ?? []) {
    for (const partition of disk.partitions ?? []) {
      if (partition.label !== 'root') continue;
      partition.size = diskSizeGb * GB;
      partition.use_all_available_space = false;
      roots++;
    }
  }
  if (roots === 0) {
    throw new InvalidInputError('diskSizeGb', 'the offer\'s partitioning schema has no root partition to size; '
      + 'leave diskSizeGb unset to install with the offer\'s default layout');
  }
  return JSON.stringify(schema);
}

function hostOf(server: scaleway.elasticmetal.Server): pulumi.Output<EdgeHost> {
  return pulumi.all([server.id, server.name, server.ipv4s, server.privateIps]).apply(([id, name, ipv4s, privateIps]) => {
    // Both lists are empty until the server exists (and in a preview); privateIps holds IPv6 too.
    const publicIp = (ipv4s ?? [])[0]?.address;
    const privateIp = (privateIps ?? []).map((p) => p.address).find((a) => a !== undefined && !a.includes(':'));
    return { id, name, ...(publicIp ? { publicIp } : {}), ...(privateIp ? { privateIp: bareAddress(privateIp) } : {}) };
  });
}

/** The address of `51.159.0.20/32`: the flexible IP and IPAM APIs may give an address as a network. */
function bareAddress(address: string): string {
  return (address ?? '').replace(/\/[0-9]+$/, '');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A UUID, or a zoned one (`fr-par-2/<uuid>`) as the provider writes ids. */
function isUuid(value: string): boolean {
  return UUID.test(value.replace(/^[a-z]{2}-[a-z]{3}-[1-9]\//, ''));
}

function checkName(name: string, prefix: unknown): string {
  // The prefix becomes each host's hostname with `-<n>` appended: DNS label rules (RFC 1123), with room for the suffix.
  if (typeof prefix === 'string' && /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/.test(prefix)) return prefix;
  throw new InvalidInputError('name', `${JSON.stringify(prefix)} is not a usable name prefix; set EdgeCluster "${name}" `
    + 'name to 1-50 lowercase letters, digits or hyphens, starting and ending with a letter or digit (it prefixes the hostnames)');
}

function checkCount(name: string, input: string, value: unknown, range: { min: number; max: number }, unit: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max) return value;
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  throw new InvalidInputError(input, `${shown} is not a whole number from ${range.min} to ${range.max}; `
    + `set EdgeCluster "${name}" ${input} to ${range.min}..${range.max} ${unit}`);
}

function checkOffer(name: string, offer: unknown): string {
  if (typeof offer === 'string' && offer.trim() !== '') return offer;
  throw new InvalidInputError('offer', `${JSON.stringify(offer)} is not an Elastic Metal offer; set EdgeCluster "${name}" `
    + 'offer to an offer name (e.g. EM-I220E-NVME, see `scw baremetal offer list`) or id');
}

function checkOs(name: string, os: unknown): EdgeClusterOs {
  const allowed = Object.keys(EDGE_CLUSTER_OSES);
  if (typeof os === 'string' && allowed.includes(os)) return os as EdgeClusterOs;
  throw new InvalidInputError('os', `${JSON.stringify(os)} is not a supported OS; set EdgeCluster "${name}" os to one of `
    + `${allowed.join(', ')}`);
}

function checkUuid(name: string, input: string, value: unknown, what: string): string {
  if (typeof value === 'string' && isUuid(value)) return value;
  throw new InvalidInputError(input, `${JSON.stringify(value)} is not ${what}; set EdgeCluster "${name}" ${input} to a UUID`);
}

function checkZone(name: string, zone: unknown): string {
  if (typeof zone === 'string' && /^[a-z]{2}-[a-z]{3}-[1-9]$/.test(zone)) return zone;
  throw new InvalidInputError('zone', `${JSON.stringify(zone)} is not a Scaleway zone; set EdgeCluster "${name}" zone to `
    + '<country>-<city>-<n>, e.g. fr-par-2 (a zone with Elastic Metal)');
}

function checkSshKeyIds(name: string, ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.length === 0) {
    throw new InvalidInputError('sshKeyIds', `EdgeCluster "${name}" needs at least one IAM SSH key id in sshKeyIds: `
      + 'Elastic Metal installs Ubuntu with SSH keys only (`scw iam ssh-key list`)');
  }
  return ids.map((id, i) => checkUuid(name, 'sshKeyIds', id, `an IAM SSH key id (sshKeyIds[${i}])`));
}
