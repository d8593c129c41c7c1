/**
 * pulumi.runtime.setMocks for the provider tests. newResource records what registers; the mock
 * monitor's registerResource and registerResourceOutputs are wrapped to see what newResource is not
 * given (parent, dependencies, additionalSecretOutputs, the serialized request with its secrets still
 * wrapped, a component's outputs) and to know when every registration has been answered.
 */
import * as pulumi from '@pulumi/pulumi';

export const PROJECT_ID = '11111111-2222-3333-4444-555555555555';
export const FAKE_ACCESS_KEY = 'SCWABCDEFGHIJKLMNOP';
export const FAKE_SECRET_KEY = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
/** What a scaleway:iam/apiKey:ApiKey reads back once created. */
export const FAKE_API_KEY_STATE: Readonly<Record<string, string>> = { accessKey: FAKE_ACCESS_KEY, secretKey: FAKE_SECRET_KEY };
/** The permission sets every BackupIdentity policy grants, written out here to check the provider's list. */
export const BASE_PERMISSION_SETS: readonly string[] = [
  'BlockStorageFullAccess', 'ObjectStorageBucketsRead',
  'ObjectStorageObjectsRead', 'ObjectStorageObjectsWrite', 'ObjectStorageObjectsDelete',
];
/** Pulumi's secret sentinel: a serialized secret is `{ ...SECRET, value }`. */
export const SECRET: Readonly<Record<string, string>> = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig };

export interface Registered {
  type: string;
  /** As newResource receives them, with the secret sentinels (kept by the mock monitor) removed. */
  inputs: Record<string, unknown>;
  /** As the engine would receive them: serialized, secrets wrapped in the secret sentinel. */
  serialized: Record<string, unknown>;
  /** The parent's URN; '' for none. */
  parent: string;
  /** URNs the resource depends on. */
  dependencies: string[];
  additionalSecretOutputs: string[];
}

/** A data-source invoke, as the mock's `call` received it. */
export interface Call { token: string; inputs: Record<string, unknown> }

export interface MockOptions {
  /** Fake computed outputs, laid over the inputs; a string `id` in the result becomes the resource id (default `<name>_id`). */
  newResourceState?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>;
  /** Answers a data-source invoke (default: its inputs). */
  call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown>;
  /** Default 'project'. */
  project?: string;
  /** Default 'stack'. */
  stack?: string;
  /** Stack config, keys without the project prefix; set only when given. */
  config?: Record<string, string>;
  /** Keys of `config` (without the prefix) that are secret. */
  secretKeys?: string[];
}

export const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise<T>((resolve) => o.apply(resolve));
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * What `fn` throws, or undefined when it returns. The components check their inputs synchronously: a
 * bad one throws from the constructor, before anything registers.
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** The plain value under Pulumi's secret sentinels, at any depth. */
function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(o.value);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
}

interface Struct { toJavaScript(): Record<string, unknown> }
interface RegisterRequest {
  getType(): string; getName(): string; getParent(): string;
  getDependenciesList(): string[]; getAdditionalsecretoutputsList(): string[];
  getObject(): Struct | undefined;
}
interface OutputsRequest { getUrn(): string; getOutputs(): Struct | undefined }
type Callback = (...args: unknown[]) => void;
interface MonitorLike {
  registerResource(req: RegisterRequest, cb: Callback): unknown;
  registerResourceOutputs(req: OutputsRequest, cb: Callback): unknown;
}

/** What the mocks of one installMocks have seen. */
export class PulumiMocks {
  /** By logical name; every test uses its own names. */
  readonly registered = new Map<string, Registered>();
  /** Component outputs as sent to the engine (serialized, secrets wrapped), by URN. */
  readonly componentOutputs = new Map<string, Record<string, unknown>>();
  readonly calls: Call[] = [];
  /** Monitor calls not answered yet. */
  private inFlight = 0;

  record(name: string): Registered {
    const r = this.registered.get(name);
    if (r === undefined) throw new Error(`${name} was not registered (registered: ${[...this.registered.keys()].join(', ')})`);
    return r;
  }

  /** Registrations of a type, by logical name, under the given parent URN (any parent when absent), in registration order. */
  ofType(type: string, parent?: string): Array<[string, Registered]> {
    return [...this.registered].filter(([, r]) => r.type === type && (parent === undefined || r.parent === parent));
  }

  /** The inputs of every invoke of `token`, in call order. */
  callsOf(token: string): Array<Record<string, unknown>> {
    return this.calls.filter((c) => c.token === token).map((c) => c.inputs);
  }

  /** Waits until every registration made so far has been answered. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 20; quiet = this.inFlight === 0 ? quiet + 1 : 0) await tick();
  }

  /**
   * Runs the program at `path` (its module's exports), as `pulumi up` would, waits for its exports and
   * for every registration to be answered, and returns the module.
   */
  async run(path: string, modules: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    let program: Record<string, unknown> = {};
    // A fresh registry runs the program again each time; it shares this runtime (the mocks) and
    // `modules`, as a program shares them with its stack.
    jest.isolateModules(() => {
      jest.doMock('@pulumi/pulumi', () => pulumi);
      for (const [name, m] of Object.entries(modules)) jest.doMock(name, () => m);
      program = require(path) as Record<string, unknown>;
    });
    for (const v of Object.values(program)) await value(pulumi.output(v));
    // Exports resolve after the resources they read; wait for the rest (components, parents) too.
    await this.settle();
    return program;
  }

  /** Installs fresh mocks (a new mock monitor) for this runtime, and sets the config given. */
  static async install(options: MockOptions): Promise<PulumiMocks> {
    const { newResourceState = () => ({}), call = (args) => args.inputs as Record<string, unknown> } = options;
    const project = options.project ?? 'project';
    const mocks = new PulumiMocks();
    await pulumi.runtime.setMocks({
      newResource: (args) => mocks.newResource(args, newResourceState(args)),
      call: (args) => {
        mocks.calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        return call(args);
      },
    }, project, options.stack ?? 'stack', false);
    mocks.watch(pulumi.runtime.getMonitor() as unknown as MonitorLike);

    if (options.config !== undefined) {
      const prefixed = (k: string): string => `${project}:${k}`;
      pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(options.config).map(([k, v]) => [prefixed(k), v])),
        (options.secretKeys ?? []).map(prefixed),
      );
    }
    return mocks;
  }

  /** Wraps the mock monitor's registrations. */
  private watch(monitor: MonitorLike): void {
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      this.registered.set(req.getName(), {
        type: req.getType(), inputs: {}, serialized: req.getObject()?.toJavaScript() ?? {},
        parent: req.getParent(), dependencies: req.getDependenciesList(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      });
      return register(req, this.answered(cb));
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, cb) => {
      this.componentOutputs.set(req.getUrn(), req.getOutputs()?.toJavaScript() ?? {});
      return registerOutputs(req, this.answered(cb));
    };
  }

  /** newResource: completes the record the monitor started with the inputs; answers inputs and fake state. */
  private newResource(args: pulumi.runtime.MockResourceArgs, fake: Record<string, unknown>): pulumi.runtime.MockResourceResult {
    const prev = this.registered.get(args.name);
    this.registered.set(args.name, {
      serialized: {}, parent: '', dependencies: [], additionalSecretOutputs: [], ...prev,
      type: args.type, inputs: unwrapSecrets(args.inputs) as Record<string, unknown>,
    });
    const state: Record<string, unknown> = { ...args.inputs, ...fake };
    return { id: typeof state.id === 'string' ? state.id : `${args.name}_id`, state };
  }

  /** Counts a monitor call until the mock monitor answers it. */
  private answered(cb: Callback): Callback {
    this.inFlight++;
    return (...args) => {
      this.inFlight--;
      cb(...args);
    };
  }
}

/** Installs fresh mocks (a new mock monitor) for this file's Pulumi runtime, and sets the config given. */
export function installMocks(options: MockOptions = {}): Promise<PulumiMocks> {
  return PulumiMocks.install(options);
}
