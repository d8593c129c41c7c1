/**
 * The Node dynamic-provider plugin that ships inside @pulumi/pulumi (cmd/dynamic-provider), started
 * as the engine starts it and spoken to over gRPC in the engine's shapes
 * (sdk/go/common/resource/plugin/plugin.go newPlugin, provider_plugin.go):
 * - launched through its `pulumi-resource-pulumi-nodejs` launcher with the engine's address as only
 *   argument, in the program's folder (the engine's pwd: pkg/engine/project.go getPwdMain), with
 *   PULUMI_PROJECT / PULUMI_NODEJS_PROJECT / PULUMI_CONFIG in its environment;
 * - it prints its port on stdout; every later stdout/stderr line is what the engine shows as a
 *   global message (runtrace: diag.StreamMessage with an empty URN);
 * - Handshake, CheckConfig and DiffConfig answer UNIMPLEMENTED, which the engine accepts; Configure
 *   comes first, with acceptSecrets true, and the plugin answers acceptSecrets=false.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { PropertyMap } from './properties';

const PULUMI_DIR = dirname(require.resolve('@pulumi/pulumi/package.json'));
const LAUNCHER = join(PULUMI_DIR, 'pulumi-resource-pulumi-nodejs');

interface Struct { toJavaScript(): PropertyMap }
interface StructStatic { fromJavaScript(o: PropertyMap): Struct }
type Msg = Record<string, (...args: unknown[]) => unknown>;
type MsgClass = new () => Msg;
const structProto = require('google-protobuf/google/protobuf/struct_pb') as { Struct: StructStatic };
const providerProto = require('@pulumi/pulumi/proto/provider_pb') as Record<string, MsgClass> & { DiffResponse: { DiffChanges: Record<string, number> } };
const statusProto = require('@pulumi/pulumi/proto/status_pb') as { Status: { deserializeBinary(b: Uint8Array): { getDetailsList(): Msg[] } } };
const initFailed = providerProto.ErrorResourceInitFailed as unknown as { deserializeBinary(b: Uint8Array): Msg };
const providerGrpc = require('@pulumi/pulumi/proto/provider_grpc_pb') as {
  ResourceProviderClient: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & Record<string, unknown>;
};

export interface PluginLine { stream: 'stdout' | 'stderr'; text: string }

export interface DiffAnswer {
  changes: 'none' | 'some' | 'unknown';
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface CheckAnswer {
  inputs: PropertyMap;
  failures: Array<{ property: string; reason: string }>;
}

/** A resource as the calls name it. */
export interface Target { urn: string; type: string; name: string }

/** The new properties and reasons of a partial failure, or undefined for any other error. */
function partialFailure(err: unknown): { outputs: PropertyMap; initErrors: string[] } | undefined {
  const details = (err as Partial<grpc.ServiceError>).metadata?.get('grpc-status-details-bin') ?? [];
  for (const raw of details) {
    for (const any of statusProto.Status.deserializeBinary(raw as Buffer).getDetailsList()) {
      if (any.getTypeName() !== 'pulumirpc.ErrorResourceInitFailed') continue;
      const detail = initFailed.deserializeBinary(any.getValue_asU8() as Uint8Array);
      return { outputs: (detail.getProperties() as Struct).toJavaScript(), initErrors: detail.getReasonsList() as string[] };
    }
  }
  return undefined;
}

function struct(o: PropertyMap): Struct {
  return structProto.Struct.fromJavaScript(o);
}

export class DynamicProviderPlugin {
  /** Everything the plugin printed after its port, in order. */
  readonly lines: PluginLine[] = [];
  private constructor(private readonly child: ChildProcess, private readonly client: grpc.Client & Record<string, unknown>) {}

  static async start(o: { cwd: string; engineAddress: string; env: NodeJS.ProcessEnv }): Promise<DynamicProviderPlugin> {
    // detached: its own process group, so stop() ends the launcher's shell and the node it started.
    const child = spawn(LAUNCHER, [o.engineAddress], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const early: PluginLine[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const fail = (why: string) => reject(new Error(`dynamic-provider plugin in ${o.cwd}: ${why}; it printed: ${JSON.stringify(early)}`));
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code) => fail(`exited with ${code} before printing its port`));
      child.stderr?.on('data', (d: Buffer) => early.push({ stream: 'stderr', text: d.toString() }));
      const onData = (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl < 0) return;
        child.stdout?.off('data', onData);
        const port = Number(out.slice(0, nl).trim());
        if (!Number.isInteger(port) || port <= 0) fail(`wrote an invalid port ${JSON.stringify(out.slice(0, nl))}`);
        else resolve(port);
      };
      child.stdout?.on('data', onData);
    });
    child.removeAllListeners('exit');
    const client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const plugin = new DynamicProviderPlugin(child, client);
    plugin.lines.push(...early);
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      child[stream]?.on('data', (d: Buffer) => {
        pending += d.toString();
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const text of parts) if (text.trim() !== '') plugin.lines.push({ stream, text });
      });
    }
    return plugin;
  }

  private call<T extends Msg>(method: string, req: Msg): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method] as (r: Msg, cb: (err: grpc.ServiceError | null, res: T) => void) => void;
      fn.call(this.client, req, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  private request(kind: string, t: Target | undefined, fields: Record<string, unknown>): Msg {
    const req = new providerProto[kind]();
    if (t) {
      req.setUrn(t.urn);
      req.setName(t.name);
      req.setType(t.type);
    }
    for (const [setter, v] of Object.entries(fields)) if (v !== undefined) req[setter](v);
    return req;
  }

  /** provider_plugin.go Configure: the default provider's inputs (its `pulumi-nodejs:` config). */
  async configure(args: PropertyMap = {}): Promise<{ acceptSecrets: boolean }> {
    const res = await this.call('configure', this.request('ConfigureRequest', undefined, {
      setArgs: struct(args), setAcceptsecrets: true, setAcceptresources: true, setSendsOldInputs: true, setSendsOldInputsToDelete: true,
      setType: 'pulumi:providers:pulumi-nodejs', setName: 'default',
    }));
    return { acceptSecrets: res.getAcceptsecrets() as boolean };
  }

  async check(t: Target, olds: PropertyMap, news: PropertyMap): Promise<CheckAnswer> {
    const res = await this.call('check', this.request('CheckRequest', t, { setOlds: struct(olds), setNews: struct(news) }));
    const inputs = (res.getInputs() as Struct | undefined)?.toJavaScript() ?? {};
    const failures = (res.getFailuresList() as Msg[]).map((f) => ({ property: f.getProperty() as string, reason: f.getReason() as string }));
    return { inputs, failures };
  }

  async diff(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): Promise<DiffAnswer> {
    const res = await this.call('diff', this.request('DiffRequest', t, {
      setId: id, setOldInputs: struct(oldInputs), setOlds: struct(oldOutputs), setNews: struct(news),
    }));
    const codes = providerProto.DiffResponse.DiffChanges;
    const changes = res.getChanges() === codes.DIFF_SOME ? 'some' : res.getChanges() === codes.DIFF_NONE ? 'none' : 'unknown';
    return { changes, replaces: res.getReplacesList() as string[], deleteBeforeReplace: res.getDeletebeforereplace() as boolean };
  }

  async create(t: Target, properties: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    const res = await this.call('create', this.request('CreateRequest', t, { setProperties: struct(properties), setTimeout: 0, setPreview: false }));
    return { id: res.getId() as string, outputs: (res.getProperties() as Struct).toJavaScript() };
  }

  async read(t: Target, id: string, state: PropertyMap, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap; inputs?: PropertyMap }> {
    const res = await this.call('read', this.request('ReadRequest', t, { setId: id, setProperties: struct(state), setInputs: struct(inputs) }));
    return { id: res.getId() as string, outputs: (res.getProperties() as Struct | undefined)?.toJavaScript() ?? {}, inputs: (res.getInputs() as Struct | undefined)?.toJavaScript() };
  }

  /**
   * Update. A partial failure (the provider's error carries the resource's new properties, packed as
   * ErrorResourceInitFailed in `grpc-status-details-bin`) is returned with its reasons, as the engine
   * reads it (provider_plugin.go parseError); any other error is thrown.
   */
  async update(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): Promise<{ outputs: PropertyMap; initErrors?: string[] }> {
    try {
      const res = await this.call('update', this.request('UpdateRequest', t, {
        setId: id, setOldInputs: struct(oldInputs), setOlds: struct(oldOutputs), setNews: struct(news), setTimeout: 0, setPreview: false,
      }));
      return { outputs: (res.getProperties() as Struct).toJavaScript() };
    } catch (err) {
      const failed = partialFailure(err);
      if (!failed) throw err;
      return failed;
    }
  }

  async delete(t: Target, id: string, outputs: PropertyMap, oldInputs: PropertyMap): Promise<void> {
    await this.call('delete', this.request('DeleteRequest', t, { setId: id, setProperties: struct(outputs), setOldInputs: struct(oldInputs), setTimeout: 0 }));
  }

  /** What the plugin printed that the engine would show (global messages). */
  output(): string {
    return this.lines.map((l) => `${l.stream}: ${l.text}`).join('\n');
  }

  /** The engine kills a plugin's process group when it is done with it. */
  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGTERM');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    await exited;
  }
}

