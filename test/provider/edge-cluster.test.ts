/**
 * EdgeCluster and examples/pulumi/edge-cluster under pulumi.runtime.setMocks: the resources it
 * registers (types, counts, parents, inputs), the data sources it calls (the mock's `call`), its
 * outputs, and every validation error, as pulumi-mocks.ts records them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as provider from 'scw-backup/provider';
import { InvalidInputError } from '../../engine';
import {
  EdgeCluster, PRIVATE_NETWORK_OPTION_ID, withRootSize, type EdgeClusterArgs, type EdgeInventory,
} from '../../provider/components';
import { installMocks, thrownBy, tick, value, type MockOptions, type PulumiMocks, type Registered } from './pulumi-mocks';

jest.setTimeout(60_000);

const T = {
  cluster: 'scw-backup:index:EdgeCluster',
  server: 'scaleway:elasticmetal/server:Server',
  ip: 'scaleway:elasticmetal/ip:Ip',
  vpc: 'scaleway:network/vpc:Vpc',
  privateNetwork: 'scaleway:network/privateNetwork:PrivateNetwork',
  gateway: 'scaleway:network/publicGateway:PublicGateway',
  gatewayIp: 'scaleway:network/publicGatewayIp:PublicGatewayIp',
  gatewayNetwork: 'scaleway:network/gatewayNetwork:GatewayNetwork',
} as const;
const INVOKE = {
  os: 'scaleway:elasticmetal/getOs:getOs',
  offer: 'scaleway:elasticmetal/getOffer:getOffer',
  partitionSchema: 'scaleway:elasticmetal/getPartitionSchema:getPartitionSchema',
} as const;

const SSH_KEY = '33333333-4444-5555-6666-777777777777';
const OFFER_ID = '44444444-5555-6666-7777-888888888888';
/** OS ids by version, as the Elastic Metal API lists them (fr-par-1, 2025). */
const OS_IDS: Record<string, string> = {
  '22.04 LTS (Jammy Jellyfish)': '96e5f0f2-d216-4de2-8a15-68730d877885',
  '24.04 LTS (Noble Numbat)': '7d1914e1-f4ab-47fc-bd8c-b3a23143e87a',
};
const OS_2204 = OS_IDS['22.04 LTS (Jammy Jellyfish)'];
const OS_2404 = OS_IDS['24.04 LTS (Noble Numbat)'];
const GATEWAY_ADDRESS = '51.158.0.1';
const SUBNET = '172.16.0.0/22';

/** What getPartitionSchema gives for a two-NVMe offer with swap and the extra partition at /data. */
const SCHEMA = {
  disks: [
    {
      device: '/dev/nvme0n1',
      partitions: [
        { label: 'uefi', number: 1, size: 536870912, use_all_available_space: false },
        { label: 'swap', number: 2, size: 4294967296, use_all_available_space: false },
        { label: 'boot', number: 3, size: 1073741824, use_all_available_space: false },
        { label: 'root', number: 4, size: 20000000000, use_all_available_space: false },
        { label: 'data', number: 5, size: 0, use_all_available_space: true },
      ],
    },
    {
      device: '/dev/nvme1n1',
      partitions: [
        { label: 'swap', number: 1, size: 4294967296, use_all_available_space: false },
        { label: 'boot', number: 2, size: 1073741824, use_all_available_space: false },
        { label: 'root', number: 3, size: 20000000000, use_all_available_space: false },
        { label: 'data', number: 4, size: 0, use_all_available_space: true },
      ],
    },
  ],
  raids: [
    { name: '/dev/md0', level: 'raid_level_1', devices: ['/dev/nvme0n1p3', '/dev/nvme1n1p2'] },
    { name: '/dev/md1', level: 'raid_level_1', devices: ['/dev/nvme0n1p4', '/dev/nvme1n1p3'] },
    { name: '/dev/md2', level: 'raid_level_1', devices: ['/dev/nvme0n1p5', '/dev/nvme1n1p4'] },
  ],
  filesystems: [
    { device: '/dev/nvme0n1p1', format: 'fat32', mountpoint: '/boot/efi' },
    { device: '/dev/md0', format: 'ext4', mountpoint: '/boot' },
    { device: '/dev/md1', format: 'ext4', mountpoint: '/' },
    { device: '/dev/md2', format: 'ext4', mountpoint: '/data' },
  ],
  zfs: null,
};

let mocks: PulumiMocks;
const record = (name: string): Registered => mocks.record(name);
/** Registrations of a type, by logical name, under the given parent URN (any parent when absent), in name order. */
const ofType = (type: string, parent?: string): Array<[string, Registered]> =>
  mocks.ofType(type, parent)
    // Registration order follows the order inputs resolve in: sort by the number the name ends with.
    .sort(([a], [b]) => ordinal(a) - ordinal(b) || a.localeCompare(b));
const callsOf = (token: string): Array<Record<string, unknown>> => mocks.callsOf(token);
/** The number a logical name ends with (`c-host-2` → 2). */
const ordinal = (name: string): number => Number(/([0-9]+)$/.exec(name)?.[1] ?? 0);

/** Fake computed outputs: what the provider reads back once the resource exists. */
function fakeState(type: string, name: string): Record<string, unknown> {
  const n = ordinal(name);
  switch (type) {
    case T.server: return {
      ipv4s: [{ id: `ip-${name}`, address: `51.15.0.${n}`, version: 'IPv4', reverse: '' }],
      // IPAM gives the private addresses as networks, IPv6 first here.
      privateIps: [{ id: `ipam6-${name}`, address: `fd00::${n}/64` }, { id: `ipam4-${name}`, address: `172.16.0.${n}/22` }],
    };
    case T.ip: return { ipAddress: `195.154.0.${n}/32` };
    case T.gatewayIp: return { address: GATEWAY_ADDRESS };
    case T.privateNetwork: return { ipv4Subnet: { subnet: SUBNET } };
    default: return {};
  }
}

function fakeCall(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case INVOKE.os: {
      const osId = OS_IDS[String(inputs.version)];
      return { ...inputs, id: osId, osId };
    }
    case INVOKE.offer: return { ...inputs, id: OFFER_ID, offerId: OFFER_ID, stock: 'available' };
    case INVOKE.partitionSchema: return { ...inputs, id: `${String(inputs.offerId)}-${String(inputs.osId)}`, jsonPartition: JSON.stringify(SCHEMA) };
    default: throw new Error(`unexpected invoke ${token}`);
  }
}

/** Fresh mocks answering with this file's fake state and data sources. */
async function install(options: Pick<MockOptions, 'project' | 'stack' | 'config'> = {}): Promise<void> {
  mocks = await installMocks({
    ...options,
    newResourceState: (args) => fakeState(args.type, args.name),
    call: (args) => fakeCall(args.token, args.inputs as Record<string, unknown>),
  });
}

const BASE: EdgeClusterArgs = { hosts: 3, offer: 'EM-I220E-NVME', os: 'ubuntu_2204', zone: 'fr-par-2', sshKeyIds: [SSH_KEY] };

/** The root and data partitions of a partitioning JSON, per disk. */
function rootAndData(json: string): Array<Array<Record<string, unknown>>> {
  const schema = JSON.parse(json) as typeof SCHEMA;
  return schema.disks.map((d) => d.partitions.filter((p) => p.label === 'root' || p.label === 'data'));
}

describe('EdgeCluster', () => {
  beforeAll(() => install());
  beforeEach(() => {
    mocks.calls.length = 0;
  });

  it('registers the hosts on one private network, a VPC, a NAT gateway with its IP, and flexible IPs round-robin', async () => {
    const cluster = new EdgeCluster('c1', { ...BASE, name: 'edge', flexibleIps: 4, tags: ['team=edge'] });
    const [urn, inventory] = await Promise.all([value(cluster.urn), value(cluster.inventory), value(cluster.gatewayNetwork.urn)]);
    await mocks.settle();

    expect(record('c1').type).toBe(T.cluster);
    const count = (type: string): number => ofType(type, urn).length;
    expect(Object.fromEntries(Object.entries(T).filter(([k]) => k !== 'cluster').map(([k, type]) => [k, count(type)]))).toEqual({
      server: 3, ip: 4, vpc: 1, privateNetwork: 1, gateway: 1, gatewayIp: 1, gatewayNetwork: 1,
    });
    // Nothing of the cluster is registered outside it.
    expect([...mocks.registered].filter(([n, r]) => n.startsWith('c1-') && r.parent !== urn)).toEqual([]);

    expect(record('c1-vpc').inputs).toMatchObject({ name: 'edge-vpc', region: 'fr-par', tags: ['team=edge'] });
    expect(record('c1-pn').inputs).toMatchObject({ name: 'edge-hosts', vpcId: 'c1-vpc_id', region: 'fr-par' });
    expect(record('c1-gw-ip').inputs).toMatchObject({ zone: 'fr-par-2' });
    expect(record('c1-gw').inputs).toMatchObject({ name: 'edge-gw', type: 'VPC-GW-S', zone: 'fr-par-2', ipId: 'c1-gw-ip_id' });
    expect(record('c1-gw-net').inputs).toMatchObject({
      gatewayId: 'c1-gw_id', privateNetworkId: 'c1-pn_id', zone: 'fr-par-2',
      enableMasquerade: true, ipamConfigs: [{ pushDefaultRoute: true }],
    });

    const servers = ofType(T.server, urn);
    expect(servers.map(([n]) => n)).toEqual(['c1-host-1', 'c1-host-2', 'c1-host-3']);
    for (const [n, { inputs }] of servers) {
      const i = ordinal(n);
      expect(inputs).toMatchObject({
        name: `edge-${i}`, hostname: `edge-${i}`, zone: 'fr-par-2', offer: 'EM-I220E-NVME', os: OS_2204,
        sshKeyIds: [SSH_KEY], tags: ['team=edge'],
        options: [{ id: PRIVATE_NETWORK_OPTION_ID }],
        privateNetworks: [{ id: 'c1-pn_id' }],
      });
      // No diskSizeGb: the offer's default layout.
      expect(inputs.partitioning).toBeUndefined();
    }
    expect(callsOf(INVOKE.os)).toEqual([{ zone: 'fr-par-2', name: 'Ubuntu', version: '22.04 LTS (Jammy Jellyfish)' }]);
    expect(callsOf(INVOKE.partitionSchema)).toEqual([]);

    // IP k goes to host k mod 3.
    expect(ofType(T.ip, urn).map(([n, r]) => [n, r.inputs.serverId, r.inputs.zone])).toEqual([
      ['c1-fip-1', 'c1-host-1_id', 'fr-par-2'], ['c1-fip-2', 'c1-host-2_id', 'fr-par-2'],
      ['c1-fip-3', 'c1-host-3_id', 'fr-par-2'], ['c1-fip-4', 'c1-host-1_id', 'fr-par-2'],
    ]);

    const hosts = [1, 2, 3].map((i) => ({ id: `c1-host-${i}_id`, name: `edge-${i}`, publicIp: `51.15.0.${i}`, privateIp: `172.16.0.${i}` }));
    expect(cluster.hostNames).toEqual(['edge-1', 'edge-2', 'edge-3']);
    expect(await value(cluster.hosts)).toEqual(hosts);
    expect(await value(cluster.vpcId)).toBe('c1-vpc_id');
    expect(await value(cluster.privateNetworkId)).toBe('c1-pn_id');
    expect(await value(cluster.gatewayId)).toBe('c1-gw_id');
    expect(await value(cluster.gatewayIp)).toBe(GATEWAY_ADDRESS);
    const fips = ['195.154.0.1', '195.154.0.2', '195.154.0.3', '195.154.0.4'];
    expect(await value(cluster.flexibleIps)).toEqual(fips);
    const expected: EdgeInventory = {
      hosts: [
        { ...hosts[0], zone: 'fr-par-2', os: 'ubuntu_2204', flexibleIps: ['195.154.0.1', '195.154.0.4'] },
        { ...hosts[1], zone: 'fr-par-2', os: 'ubuntu_2204', flexibleIps: ['195.154.0.2'] },
        { ...hosts[2], zone: 'fr-par-2', os: 'ubuntu_2204', flexibleIps: ['195.154.0.3'] },
      ],
      network: {
        zone: 'fr-par-2', region: 'fr-par', vpcId: 'c1-vpc_id', privateNetworkId: 'c1-pn_id', privateSubnet: SUBNET,
        gatewayId: 'c1-gw_id', gatewayIp: GATEWAY_ADDRESS, flexibleIps: fips,
      },
    };
    expect(inventory).toEqual(expected);
    // A plain object: it survives JSON as it is (what `pulumi stack output --json` gives a tool).
    expect(JSON.parse(JSON.stringify(inventory))).toEqual(expected);
  });

  it('defaults: the resource name as prefix, no flexible IP', async () => {
    const cluster = new EdgeCluster('solo', { ...BASE, hosts: 1 });
    const urn = await value(cluster.urn);
    await value(cluster.inventory);
    await mocks.settle();
    expect(ofType(T.server, urn).map(([, r]) => r.inputs.name)).toEqual(['solo-1']);
    expect(ofType(T.ip, urn)).toEqual([]);
    expect(await value(cluster.flexibleIps)).toEqual([]);
    expect((await value(cluster.inventory)).hosts.map((h) => h.flexibleIps)).toEqual([[]]);
  });

  it('with diskSizeGb: the schema getPartitionSchema gives for the offer and OS, its root partitions resized', async () => {
    const cluster = new EdgeCluster('c2', { ...BASE, hosts: 2, os: 'ubuntu_2404', diskSizeGb: 250 });
    const urn = await value(cluster.urn);
    await value(cluster.inventory);
    await mocks.settle();

    expect(callsOf(INVOKE.os)).toEqual([{ zone: 'fr-par-2', name: 'Ubuntu', version: '24.04 LTS (Noble Numbat)' }]);
    // The offer is given by name: resolved to its id, which getPartitionSchema needs.
    expect(callsOf(INVOKE.offer)).toEqual([{ zone: 'fr-par-2', name: 'EM-I220E-NVME' }]);
    expect(callsOf(INVOKE.partitionSchema)).toEqual([
      { offerId: OFFER_ID, osId: OS_2404, swap: true, extraPartition: true, ext4Mountpoint: '/data' },
    ]);

    const servers = ofType(T.server, urn);
    expect(servers).toHaveLength(2);
    for (const [, { inputs }] of servers) {
      expect(inputs).toMatchObject({ offer: 'EM-I220E-NVME', os: OS_2404 });
      const partitioning = inputs.partitioning as string;
      expect(rootAndData(partitioning)).toEqual([
        [{ label: 'root', number: 4, size: 250_000_000_000, use_all_available_space: false }, { label: 'data', number: 5, size: 0, use_all_available_space: true }],
        [{ label: 'root', number: 3, size: 250_000_000_000, use_all_available_space: false }, { label: 'data', number: 4, size: 0, use_all_available_space: true }],
      ]);
      // Everything but the root sizes is the schema as given.
      const resized = JSON.parse(partitioning) as typeof SCHEMA;
      for (const d of resized.disks) for (const p of d.partitions) if (p.label === 'root') p.size = 20000000000;
      expect(resized).toEqual(SCHEMA);
    }
  });

  it('with an offer id and an osId: no lookups, both passed as given', async () => {
    const osId = 'fr-par-2/a5c00c1b-95b1-4c08-8a33-79cc079f9dac';
    const cluster = new EdgeCluster('c3', { ...BASE, hosts: 1, offer: OFFER_ID, osId, diskSizeGb: 32 });
    const urn = await value(cluster.urn);
    await value(cluster.inventory);
    await mocks.settle();
    expect(callsOf(INVOKE.os)).toEqual([]);
    expect(callsOf(INVOKE.offer)).toEqual([]);
    expect(callsOf(INVOKE.partitionSchema)).toEqual([{ offerId: OFFER_ID, osId, swap: true, extraPartition: true, ext4Mountpoint: '/data' }]);
    const [[, server]] = ofType(T.server, urn);
    expect(server.inputs).toMatchObject({ offer: OFFER_ID, os: osId });
    expect(rootAndData(server.inputs.partitioning as string)[0][0]).toMatchObject({ label: 'root', size: 32_000_000_000 });
  });

  it('withRootSize names diskSizeGb when the schema has no root partition', () => {
    const noRoot = JSON.stringify({ disks: [{ device: '/dev/sda', partitions: [{ label: 'data', number: 1, size: 0 }] }] });
    expect(() => withRootSize(noRoot, 64)).toThrow(InvalidInputError);
    expect(() => withRootSize(noRoot, 64)).toThrow(/^diskSizeGb: .*no root partition/);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['hosts', { hosts: 0 }, /^hosts: 0 is not a whole number from 1 to 10/],
    ['hosts', { hosts: 11 }, /^hosts: 11 .*1\.\.10 hosts/],
    ['hosts', { hosts: 2.5 }, /^hosts: 2\.5/],
    ['hosts', { hosts: '3' }, /^hosts: "3" is not a whole number/],
    ['os', { os: 'debian_12' }, /^os: "debian_12" is not a supported OS.*one of ubuntu_2204, ubuntu_2404/],
    ['os', { os: 'Ubuntu 22.04' }, /^os: "Ubuntu 22.04"/],
    ['diskSizeGb', { diskSizeGb: 31 }, /^diskSizeGb: 31 is not a whole number from 32 to 1024/],
    ['diskSizeGb', { diskSizeGb: 1025 }, /^diskSizeGb: 1025 .*32\.\.1024 GB/],
    ['flexibleIps', { flexibleIps: 6 }, /^flexibleIps: 6 is not a whole number from 0 to 5/],
    ['flexibleIps', { flexibleIps: -1 }, /^flexibleIps: -1/],
    ['zone', { zone: 'fr-par' }, /^zone: "fr-par" is not a Scaleway zone.*e\.g\. fr-par-2/],
    ['zone', { zone: 'FR-PAR-2' }, /^zone: "FR-PAR-2"/],
    ['zone', { zone: 'fr-par-0' }, /^zone: "fr-par-0"/],
    ['offer', { offer: '' }, /^offer: "" is not an Elastic Metal offer/],
    ['offer', { offer: '   ' }, /^offer: "   "/],
    ['sshKeyIds', { sshKeyIds: [] }, /^sshKeyIds: .*at least one IAM SSH key id/],
    ['sshKeyIds', { sshKeyIds: [SSH_KEY, 'my-laptop'] }, /^sshKeyIds: "my-laptop" is not an IAM SSH key id \(sshKeyIds\[1\]\)/],
    ['osId', { osId: 'ubuntu' }, /^osId: "ubuntu" is not an Elastic Metal OS id/],
    ['name', { name: 'Edge_1' }, /^name: "Edge_1" is not a usable name prefix/],
  ])('rejects a bad %s synchronously, registering nothing', async (input, override, message) => {
    const name = `bad-${mocks.registered.size}-${input.toLowerCase()}`;
    const thrown = thrownBy(() => new EdgeCluster(name, { ...BASE, ...override } as unknown as EdgeClusterArgs));
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect((thrown as InvalidInputError).input).toBe(input);
    expect((thrown as InvalidInputError).code).toBe('INVALID_INPUT');
    expect((thrown as Error).message).toMatch(message);
    await tick();
    expect([...mocks.registered.keys()].filter((n) => n.startsWith(name))).toEqual([]);
    expect(mocks.calls).toEqual([]);
  });
});

describe('examples/pulumi/edge-cluster', () => {
  const EXAMPLE = join(__dirname, '..', '..', 'examples', 'pulumi', 'edge-cluster');
  const yaml = readFileSync(join(EXAMPLE, 'Pulumi.yaml'), 'utf8');
  const project = /^name:\s*(\S+)\s*$/m.exec(yaml)?.[1] ?? '';

  /** Runs the program under fresh mocks with `config` (keys without the project prefix), as `pulumi up` would. */
  async function runExample(config: Record<string, string>): Promise<Record<string, unknown>> {
    await install({ project, stack: 'production', config });
    return mocks.run(EXAMPLE, { 'scw-backup/provider': provider });
  }

  it('names its entry point and the Node.js runtime', () => {
    expect(project).toBe('scw-backup-edge-cluster');
    expect(yaml).toMatch(/^main: index\.ts$/m);
    expect(yaml).toMatch(/^runtime:\n\s+name: nodejs$/m);
  });

  describe('with the defaults', () => {
    let program: Record<string, unknown>;
    beforeAll(async () => {
      program = await runExample({ storeBucket: 'acme-edge', sshKeyIds: JSON.stringify([SSH_KEY]) });
    });

    it('registers a cluster of 3 hosts in fr-par-2 with 2 flexible IPs and 100 GB roots', () => {
      expect(ofType(T.cluster).map(([n]) => n)).toEqual(['edge']);
      const counts = Object.fromEntries(Object.entries(T).map(([k, type]) => [k, ofType(type).length]));
      expect(counts).toEqual({ cluster: 1, server: 3, ip: 2, vpc: 1, privateNetwork: 1, gateway: 1, gatewayIp: 1, gatewayNetwork: 1 });
      for (const [, { inputs }] of ofType(T.server)) {
        expect(inputs).toMatchObject({
          zone: 'fr-par-2', offer: 'EM-I220E-NVME', os: OS_2204, sshKeyIds: [SSH_KEY], privateNetworks: [{ id: 'edge-pn_id' }],
        });
        expect(rootAndData(inputs.partitioning as string).map((d) => d[0].size)).toEqual([100_000_000_000, 100_000_000_000]);
      }
      expect(ofType(T.ip).map(([, r]) => r.inputs.serverId)).toEqual(['edge-host-1_id', 'edge-host-2_id']);
    });

    it('exports each host\'s backup command into s3://<storeBucket>/edge/<host>, and the inventory', async () => {
      const commands = program.backupCommands as Record<string, string>;
      expect(Object.keys(commands)).toEqual(['edge-1', 'edge-2', 'edge-3']);
      expect(commands['edge-2']).toBe('for image in /var/lib/one/datastores/1/*; do [ -f "$image" ] || continue; '
        + 'scw-backup backup --repo s3://acme-edge/edge/edge-2 --s3-region fr-par --password-file /etc/scw-backup/password '
        + '--host edge-2 --tag cluster=edge "$image"; done');
      const inventory = await value(pulumi.output(program.inventory as pulumi.Output<EdgeInventory>));
      expect(inventory.hosts.map((h) => [h.name, h.publicIp, h.privateIp, h.flexibleIps])).toEqual([
        ['edge-1', '51.15.0.1', '172.16.0.1', ['195.154.0.1']],
        ['edge-2', '51.15.0.2', '172.16.0.2', ['195.154.0.2']],
        ['edge-3', '51.15.0.3', '172.16.0.3', []],
      ]);
      expect(inventory.network).toMatchObject({ zone: 'fr-par-2', gatewayIp: GATEWAY_ADDRESS, privateNetworkId: 'edge-pn_id' });
      expect(await value(pulumi.output(program.gatewayIp as pulumi.Output<string>))).toBe(GATEWAY_ADDRESS);
      expect(await value(pulumi.output(program.flexibleIps as pulumi.Output<string[]>))).toEqual(['195.154.0.1', '195.154.0.2']);
    });
  });

  it('takes the host count, OS, zone and store region from config', async () => {
    const program = await runExample({
      storeBucket: 'acme-edge', storeRegion: 'nl-ams', sshKeyIds: JSON.stringify([SSH_KEY]),
      hosts: '5', flexibleIps: '0', os: 'ubuntu_2404', zone: 'nl-ams-1', name: 'ams',
    });
    const servers = ofType(T.server);
    expect(servers.map(([, r]) => [r.inputs.name, r.inputs.zone, r.inputs.os])).toEqual(
      [1, 2, 3, 4, 5].map((i) => [`ams-${i}`, 'nl-ams-1', OS_2404]),
    );
    expect(ofType(T.ip)).toEqual([]);
    expect(record('edge-pn').inputs).toMatchObject({ region: 'nl-ams' });
    const commands = program.backupCommands as Record<string, string>;
    expect(Object.keys(commands)).toHaveLength(5);
    expect(commands['ams-5']).toContain('--repo s3://acme-edge/edge/ams-5 --s3-region nl-ams ');
  });
});
