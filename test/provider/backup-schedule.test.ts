/**
 * renderPlan, and BackupSchedule under pulumi.runtime.setMocks: one job definition per shard with the
 * cron, resources, command and plan it was given; the three secrets in Secret Manager, sent to the
 * engine only as secrets and referenced by every job; bad inputs refused before anything registers.
 * pulumi-mocks.ts records the serialized request (secrets still wrapped) and the options newResource
 * is not given. Also the Dockerfile that builds the image the jobs run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { InvalidInputError } from '../../engine';
import { BackupSchedule, planFromSources, renderPlan, type BackupScheduleArgs, type RenderPlanArgs } from '../../provider/components';
import { parsePlan } from '../../provider/plan';
import {
  FAKE_ACCESS_KEY, FAKE_SECRET_KEY, PROJECT_ID, SECRET, installMocks, thrownBy, tick, value, type PulumiMocks, type Registered,
} from './pulumi-mocks';

jest.setTimeout(60_000);

const VOLUME = '22222222-3333-4444-5555-666666666666';
const SERVER = '33333333-4444-5555-6666-777777777777';
const PASSPHRASE = 'store passphrase, never in plain state';
const IMAGE = 'rg.fr-par.scw.cloud/backups/scw-backup:0.1.0';
const T = {
  component: 'scw-backup:index:BackupSchedule',
  definition: 'scaleway:job/definition:Definition',
  secret: 'scaleway:secrets/secret:Secret',
  version: 'scaleway:secrets/version:Version',
} as const;

const PLAN_ARGS: RenderPlanArgs = {
  store: { url: 's3://acme-backups/production', s3: { region: 'fr-par' } },
  scaleway: { projectId: PROJECT_ID },
  sources: [
    {
      name: 'db', kind: 'volume', zone: 'fr-par-1', resourceId: VOLUME, bucket: 'acme-staging',
      environment: 'production', dataClass: 'database', schedule: '4h', retention: { daily: 7, weekly: 4 },
    },
    {
      name: 'web', kind: 'instance', zone: 'fr-par-2', resourceId: SERVER, bucket: 'acme-staging',
      schedule: '0 3 * * *', timeZone: 'Europe/Paris', tags: { team: 'web' },
    },
  ],
};
const SECRETS = { storePassphrase: PASSPHRASE, accessKey: FAKE_ACCESS_KEY, secretKey: FAKE_SECRET_KEY };
/** The default cron of a BackupSchedule, which it writes into the plan as its cadence. */
const HOURLY = { schedule: '0 * * * *', timeZone: 'Etc/UTC' };

let mocks: PulumiMocks;
const record = (name: string): Registered => mocks.record(name);

/** Fake computed outputs: a secret's id is `region/uuid` in the provider; a version's revision. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (type === T.secret) return { id: `${String(inputs.region)}/${name}_id` };
  if (type === T.version) return { revision: '1' };
  return {};
}

beforeAll(async () => {
  mocks = await installMocks({ newResourceState: (args) => fakeState(args.type, args.name, args.inputs as Record<string, unknown>) });
});

/** Builds a schedule and waits until every child has been registered and answered. */
async function deploy(name: string, args: Partial<BackupScheduleArgs> = {}): Promise<BackupSchedule> {
  const schedule = new BackupSchedule(name, {
    name: 'nightly', region: 'fr-par', projectId: PROJECT_ID, image: IMAGE, plan: PLAN_ARGS, secrets: SECRETS, ...args,
  });
  await Promise.all([
    value(schedule.urn), value(schedule.definitionIds),
    ...schedule.secrets.map((s) => value(s.urn)), ...schedule.secretVersions.map((v) => value(v.urn)),
  ]);
  return schedule;
}

describe('renderPlan', () => {
  it('builds a version 1 plan that round-trips through JSON and parsePlan', () => {
    const plan = renderPlan(PLAN_ARGS);
    expect(plan).toEqual({ version: 1, ...PLAN_ARGS });
    expect(parsePlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
    // Key order comes from the schema, not the caller: the same plan is always the same JSON.
    const reordered = { sources: PLAN_ARGS.sources, scaleway: PLAN_ARGS.scaleway, store: PLAN_ARGS.store };
    expect(JSON.stringify(renderPlan(reordered))).toBe(JSON.stringify(plan));
  });

  it.each([
    ['sources[1].zone', { zone: 'fr-par' }, /a Scaleway zone such as fr-par-1/],
    ['sources[1].resourceId', { resourceId: 'web-1' }, /a Scaleway id \(UUID\)/],
    ['sources[1].schedule', { schedule: 'hourly' }, /neither an RPO .* nor a five-field cron/],
    ['sources[1].name', { name: 'db' }, /"db" is used twice/],
    ['sources[1].kind', { kind: 'database' }, /./],
  ])('names the bad field: %s', (field, change, message) => {
    const sources = [PLAN_ARGS.sources[0], { ...PLAN_ARGS.sources[1], ...change }] as RenderPlanArgs['sources'];
    const thrown = thrownBy(() => renderPlan({ ...PLAN_ARGS, sources }));
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect((thrown as InvalidInputError).input).toBe(`plan: ${field}`);
    expect((thrown as Error).message).toMatch(message);
  });

  it('reports a stray top-level key instead of dropping it', () => {
    expect(() => renderPlan({ ...PLAN_ARGS, passphrase: 'x' } as RenderPlanArgs)).toThrow(/^plan: \(top level\)/);
  });
});

describe('planFromSources', () => {
  it('renders the plan from the same declarations the BackupSources get, outputs resolved, absent inputs left out', async () => {
    const [db, web] = PLAN_ARGS.sources;
    const declared = [
      { name: 'db', args: { ...db, name: undefined, resourceId: pulumi.output(VOLUME), bucket: pulumi.output('acme-staging'), runner: 'job' as const } },
      { name: 'web', args: { ...web, name: undefined, stagingPrefix: undefined, runner: 'job' as const } },
    ];
    const args = await value(planFromSources(PLAN_ARGS.store, PLAN_ARGS.scaleway, declared));
    expect(renderPlan(args)).toEqual(renderPlan(PLAN_ARGS));
    // Used as the schedule's plan: the jobs get the same JSON.
    const schedule = await deploy('bsdeclared', { plan: planFromSources(PLAN_ARGS.store, PLAN_ARGS.scaleway, declared) });
    expect(await value(schedule.planJson)).toBe(JSON.stringify(renderPlan({ ...PLAN_ARGS, cadence: HOURLY })));
  });
});

describe('BackupSchedule', () => {
  it('registers one job definition per shard, under the component, with its cron, resources and command', async () => {
    const schedule = await deploy('bs', {
      shards: 3, cron: '15 */2 * * *', timeZone: 'Europe/Paris', cpuLimit: 2000, memoryLimit: 4096,
      localStorageMiB: 2048, concurrency: 4, timeoutSeconds: 5400,
    });
    const urn = await value(schedule.urn);
    expect(record('bs').type).toBe(T.component);

    const defs = [1, 2, 3].map((i) => record(`bs-shard-${i}`));
    expect(mocks.registered.has('bs-shard-4')).toBe(false);
    expect(defs.map((d) => [d.type, d.parent])).toEqual([[T.definition, urn], [T.definition, urn], [T.definition, urn]]);
    defs.forEach((d, k) => {
      const i = k + 1;
      expect(d.inputs).toMatchObject({
        name: `nightly-${i}-of-3`, region: 'fr-par', projectId: PROJECT_ID, imageUri: IMAGE,
        cpuLimit: 2000, memoryLimit: 4096, localStorageCapacity: 2048, timeout: '1h30m0s',
        cron: { schedule: '15 */2 * * *', timezone: 'Europe/Paris' },
        startupCommands: ['scw-backup'],
        args: ['run', '--shard', `${i}/3`, '--concurrency', '4', '--json'],
      });
      expect([...(d.inputs.startupCommands as string[]), ...(d.inputs.args as string[])].join(' '))
        .toBe(`scw-backup run --shard ${i}/3 --concurrency 4 --json`);
    });
    expect(await value(schedule.definitionIds)).toEqual(['bs-shard-1_id', 'bs-shard-2_id', 'bs-shard-3_id']);
  });

  it('gives every job the rendered plan, project and region in plain env, and nothing secret', async () => {
    const schedule = await deploy('bsenv', { shards: 2, region: 'nl-ams' });
    // The plan, with the jobs' cron as its cadence: `scw-backup run` takes what would be late by the next run.
    const json = JSON.stringify(renderPlan({ ...PLAN_ARGS, cadence: HOURLY }));
    expect(await value(schedule.planJson)).toBe(json);
    for (const name of ['bsenv-shard-1', 'bsenv-shard-2']) {
      const d = record(name);
      expect(d.inputs.env).toEqual({ SCW_BACKUP_PLAN: json, SCW_DEFAULT_PROJECT_ID: PROJECT_ID, SCW_DEFAULT_REGION: 'nl-ams' });
      // Plain in the request the engine receives: the plan is no secret, and holds none.
      expect(d.serialized.env).toEqual(d.inputs.env);
      const text = JSON.stringify(d.serialized);
      expect([PASSPHRASE, FAKE_SECRET_KEY, FAKE_ACCESS_KEY].filter((s) => text.includes(s))).toEqual([]);
    }
  });

  it('keeps the three secrets in Secret Manager, sent only as secrets, and references them from every job', async () => {
    const schedule = await deploy('bssec', { shards: 2, region: 'pl-waw' });
    const urn = await value(schedule.urn);
    const secrets = [
      ['store-passphrase', PASSPHRASE, 'SCW_BACKUP_PASSWORD'],
      ['access-key', FAKE_ACCESS_KEY, 'SCW_ACCESS_KEY'],
      ['secret-key', FAKE_SECRET_KEY, 'SCW_SECRET_KEY'],
    ] as const;
    for (const [suffix, plain] of secrets) {
      const secret = record(`bssec-${suffix}-secret`);
      const version = record(`bssec-${suffix}-version`);
      expect([secret.type, secret.parent, version.type, version.parent]).toEqual([T.secret, urn, T.version, urn]);
      expect(secret.inputs).toMatchObject({ name: `nightly-${suffix}`, region: 'pl-waw', projectId: PROJECT_ID });
      expect(version.inputs).toMatchObject({ secretId: `pl-waw/bssec-${suffix}-secret_id`, region: 'pl-waw', data: plain });
      // What the engine would store in state: the secret sentinel around the value, never the value.
      expect(version.serialized.data).toEqual({ ...SECRET, value: plain });
      expect(version.additionalSecretOutputs).toContain('data');
    }
    const references = secrets.map(([suffix, , environment]) => ({
      secretId: `pl-waw/bssec-${suffix}-secret_id`, secretVersion: '1', environment,
    }));
    expect(record('bssec-shard-1').inputs.secretReferences).toEqual(references);
    expect(record('bssec-shard-2').inputs.secretReferences).toEqual(references);
  });

  it('defaults: one shard, hourly in Etc/UTC, 1000 mvCPU, 2048 MB, 1024 MiB disk, concurrency 2, no timeout', async () => {
    const schedule = await deploy('bsdef');
    expect(schedule.definitions).toHaveLength(1);
    expect(mocks.registered.has('bsdef-shard-2')).toBe(false);
    const d = record('bsdef-shard-1');
    expect(d.inputs).toMatchObject({
      name: 'nightly-1-of-1', cpuLimit: 1000, memoryLimit: 2048, localStorageCapacity: 1024,
      cron: { schedule: '0 * * * *', timezone: 'Etc/UTC' },
      args: ['run', '--shard', '1/1', '--concurrency', '2', '--json'],
    });
    expect(d.inputs.timeout).toBeUndefined();
  });

  it('takes a whole plan, or its arguments as an Output, and checks it the same way', async () => {
    const plan = renderPlan({ ...PLAN_ARGS, cadence: HOURLY });
    const fromPlan = await deploy('bsplan', { plan: renderPlan(PLAN_ARGS) });
    expect(await value(fromPlan.planJson)).toBe(JSON.stringify(plan));
    const fromOutput = await deploy('bsout', { plan: pulumi.output(PLAN_ARGS) });
    expect(await value(fromOutput.planJson)).toBe(JSON.stringify(plan));
    expect((record('bsout-shard-1').inputs.env as Record<string, string>).SCW_BACKUP_PLAN).toBe(JSON.stringify(plan));
  });

  const badSource = { ...PLAN_ARGS, sources: [{ ...PLAN_ARGS.sources[0], zone: 'par1' }] };
  it.each<[string, Partial<BackupScheduleArgs>, RegExp]>([
    ['shards', { shards: 0 }, /^shards: 0 is not a whole number from 1 to 50/],
    ['shards', { shards: 51 }, /^shards: 51 is not a whole number from 1 to 50/],
    ['shards', { shards: 1.5 }, /^shards: 1\.5/],
    ['region', { region: 'us-east-1' }, /^region: "us-east-1" is not a Serverless Jobs region.*fr-par, nl-ams, pl-waw/],
    ['region', { region: 'fr-par-1' }, /^region: "fr-par-1"/],
    ['cron', { cron: '4h' }, /^cron: "4h" is an RPO, not a cron/],
    ['cron', { cron: 'hourly' }, /^cron: "hourly" is neither an RPO/],
    ['cron', { cron: '61 * * * *' }, /^cron: "61 \* \* \* \*" is not a valid cron expression/],
    ['timeZone', { timeZone: 'Mars/Olympus' }, /^timeZone: "Mars\/Olympus" is not an IANA time zone/],
    ['name', { name: 'Nightly_Backups' }, /^name: "Nightly_Backups" is not a job name/],
    ['projectId', { projectId: 'my-project' }, /^projectId: "my-project" is not a UUID/],
    ['image', { image: '' }, /^image: /],
    ['cpuLimit', { cpuLimit: 7000 }, /^cpuLimit: 7000 .* mvCPU/],
    ['memoryLimit', { memoryLimit: 32768 }, /^memoryLimit: 32768/],
    ['localStorageMiB', { localStorageMiB: 0 }, /^localStorageMiB: 0/],
    ['concurrency', { concurrency: 17 }, /^concurrency: 17 is not a whole number from 1 to 16/],
    ['timeoutSeconds', { timeoutSeconds: 86_401 }, /^timeoutSeconds: 86401 .*24h/],
    ['secrets.storePassphrase', { secrets: { ...SECRETS, storePassphrase: '' } }, /^secrets\.storePassphrase: .*SCW_BACKUP_PASSWORD/],
    ['plan: sources[0].zone', { plan: badSource }, /^plan: sources\[0\]\.zone: a Scaleway zone/],
    // Jobs every 6 hours leave the 4h RPO of "db" unmet: refused, naming the source.
    ['plan: sources[0].schedule', { cron: '0 */6 * * *' }, /^plan: sources\[0\]\.schedule: db: jobs started on "0 \*\/6 \* \* \*" \(up to 6h apart\) cannot meet the RPO 4h: run at least every 4h/],
  ])('rejects a bad %s synchronously, registering nothing', async (input, change, message) => {
    const name = `bad-${mocks.registered.size}-${input.replace(/\W/g, '')}`;
    const thrown = thrownBy(() => new BackupSchedule(name, {
      name: 'nightly', region: 'fr-par', projectId: PROJECT_ID, image: IMAGE, plan: PLAN_ARGS, secrets: SECRETS, ...change,
    }));
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect(thrown).toMatchObject({ code: 'INVALID_INPUT', input });
    expect((thrown as Error).message).toMatch(message);
    await tick();
    expect([...mocks.registered.keys()].some((k) => k.startsWith(name))).toBe(false);
  });
});

describe('Dockerfile', () => {
  const root = join(__dirname, '..', '..');
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  // Instructions only: comments and continuation lines joined.
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const l of lines) {
    if (/^FROM /i.test(l)) stages.push([l]);
    else stages[stages.length - 1]?.push(l);
  }

  it('builds in one stage and runs from a second, slim one', () => {
    expect(stages.map((s) => s[0])).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim']);
    const build = stages[0].join('\n');
    expect(build).toMatch(/apt-get install .*python3 make g\+\+/);
    expect(build).toMatch(/^RUN npm ci$/m);
    expect(build).toMatch(/^RUN npm prune --omit=dev/m);
  });

  it('copies only what the CLI loads, and runs it as a non-root user', () => {
    const run = stages[1];
    const copied = run.filter((l) => l.startsWith('COPY --from=build ')).map((l) => l.split(/\s+/)[2]);
    expect(copied.sort()).toEqual([
      '/app/bin', '/app/dist', '/app/native/build/Release/*.node', '/app/node_modules', '/app/package.json',
    ]);
    const users = run.filter((l) => l.startsWith('USER '));
    expect(users).toEqual(['USER node']);
    // USER after the last RUN: nothing at run time is root.
    expect(run.indexOf('USER node')).toBeGreaterThan(run.map((l) => l.startsWith('RUN ')).lastIndexOf(true));
    expect(run).toContain('ENTRYPOINT ["node", "/app/bin/scw-backup.js"]');
    expect(run).toContain('CMD ["--help"]');
  });

  it('puts scw-backup on PATH, since the job definitions run it by name', () => {
    expect(stages[1]).toContain('RUN ln -s /app/bin/scw-backup.js /usr/local/bin/scw-backup');
  });

  it('.dockerignore keeps host builds and local data out of the context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', 'native/build', '.git', 'bench/work', 'demo-*', 'coverage']) {
      expect(ignored).toContain(p);
    }
  });
});
