/**
 * A test engine for one stack: `pulumi preview`, `up`, `refresh` and `destroy` as the Pulumi engine
 * runs them against the Node dynamic-provider plugin (plugin.ts), in the order of
 * pkg/resource/deploy/step_generator.go and step.go:
 * - preview/up: the program runs (program.ts); for each dynamic resource it registers, in order:
 *   Check(old inputs, new inputs) — the engine stops on a failure; then, when the resource is in the
 *   state, Diff(id, old inputs, old outputs, checked inputs) — DIFF_UNKNOWN falls back to comparing
 *   the inputs (diffResource); a preview stops there (the plugin does not support provider previews,
 *   so Create/Update are never called), `up` calls Create or Update, or Create then Delete for a
 *   replacement. A "same" step keeps the old outputs with the new inputs. Resources no longer
 *   registered are deleted, newest first. An Update that fails with the resource's new properties
 *   (ErrorResourceInitFailed) is a partial failure: the outputs are kept, the operation fails, and the
 *   next run updates that resource again (its InitErrors). The engine stops at an error.
 * - refresh: Read(id, outputs, inputs) for each dynamic resource; an empty id means it is gone.
 * - destroy: Delete(id, outputs, inputs), newest first, skipped for `retainOnDelete`.
 * Secrets reach the plugin in clear (it answers acceptSecrets=false) and are re-marked on the way
 * back (annotateSecrets, additionalSecretOutputs). Other providers' resources (buckets, IAM) are
 * not run: they take the outputs the test gives them (`created`), unknown in a preview of their
 * creation or replacement, as the engine would report them.
 * Everything the plugin prints and everything it logs through the engine is kept for assertions.
 * One simplification: the program runs to its end before the steps, so a dynamic resource's outputs
 * reach the program as the state held them (the examples feed no such output into another input).
 */
import { delimiter, dirname } from 'node:path';
import { shiftedClock } from '../../helpers';
import { EngineService, type EngineLog } from './engine-service';
import { DynamicProviderPlugin, type PluginLine, type Target } from './plugin';
import { runProgram, type ProgramSpec, type Registration } from './program';
import { annotateSecrets, containsUnknowns, deepEqual, forPlugin, markSecretKeys, type PropertyMap } from './properties';

export interface ResourceState {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id?: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
  additionalSecretOutputs: string[];
  retainOnDelete?: boolean;
  /** A partial failure's reasons (the engine's InitErrors): the next run updates the resource again. */
  initErrors?: string[];
}

export type StepOp = 'same' | 'create' | 'update' | 'replace' | 'delete' | 'read';

export interface Step {
  op: StepOp;
  urn: string;
  type: string;
  name: string;
  replaces?: string[];
  /** Dynamic resources: the inputs (top-level keys) that went to the plugin holding an unknown. */
  unknownInputs?: string[];
  /** What the provider logged through the engine about this resource during the step. */
  messages: string[];
}

export interface OperationResult {
  steps: Step[];
  /** Check failures and provider errors, as the engine would print them; the operation stopped at the first. */
  errors: string[];
  logs: EngineLog[];
  /** Every line the plugin printed (global messages in the engine's output). */
  pluginOutput: PluginLine[];
}

export interface RunOptions {
  /** How far ahead of real time the plugin's clock runs (hours between commands). */
  clockShiftMs?: number;
  /** `<type>::<name>` of other providers' resources this run replaces: a preview sees their outputs unknown. */
  replacing?: string[];
}

const DYNAMIC = 'pulumi-nodejs:dynamic';
const isDynamic = (r: { type: string; custom: boolean }): boolean => r.custom && r.type.startsWith(DYNAMIC);
const target = (r: { urn: string; type: string; name: string }): Target => ({ urn: r.urn, type: r.type, name: r.name });

export class TestStack {
  state: ResourceState[] = [];

  /** `created`: by type, the outputs other providers' new resources get on `up`. */
  constructor(public program: ProgramSpec, public created: Record<string, PropertyMap>) {}

  preview(o: RunOptions = {}): Promise<OperationResult> {
    return this.deploy(true, o);
  }

  up(o: RunOptions = {}): Promise<OperationResult> {
    return this.deploy(false, o);
  }

  async refresh(o: RunOptions = {}): Promise<OperationResult> {
    return this.withPlugin(o, async (plugin, result) => {
      const next: ResourceState[] = [];
      for (const r of this.state) {
        if (!isDynamic(r)) {
          next.push(r);
          continue;
        }
        const read = await plugin.read(target(r), r.id ?? '', forPlugin(r.outputs, false, 'state'), forPlugin(r.inputs, false, 'inputs'));
        result.steps.push(this.step('read', r, result));
        if (read.id === '') continue;
        const outputs = markSecretKeys(annotateSecrets(read.outputs, r.outputs), r.additionalSecretOutputs);
        next.push({ ...r, id: read.id, outputs, inputs: read.inputs ? annotateSecrets(read.inputs, r.inputs) : r.inputs });
      }
      this.state = next;
    });
  }

  async destroy(o: RunOptions = {}): Promise<OperationResult> {
    return this.withPlugin(o, async (plugin, result) => {
      for (const r of [...this.state].reverse()) {
        if (isDynamic(r) && !r.retainOnDelete) {
          await plugin.delete(target(r), r.id ?? '', forPlugin(r.outputs, false, 'state'), forPlugin(r.inputs, false, 'inputs'));
        }
        result.steps.push(this.step('delete', r, result));
        this.state = this.state.filter((s) => s.urn !== r.urn);
      }
    });
  }

  private async deploy(preview: boolean, o: RunOptions): Promise<OperationResult> {
    const replacing = new Set(o.replacing ?? []);
    const byUrn = new Map(this.state.map((r) => [r.urn, r]));
    const answers: Record<string, { id?: string; outputs: PropertyMap }> = {};
    for (const r of this.state) {
      const key = `${r.type}::${r.name}`;
      if (replacing.has(key)) {
        // `up` makes the replacement (its new outputs); a preview does not know them.
        if (!preview) answers[key] = { id: `${r.name}-id-2`, outputs: { ...r.inputs, ...this.created[r.type] } };
        continue;
      }
      answers[key] = { id: r.id, outputs: r.outputs };
    }
    const registrations = await runProgram(this.program, { preview, answers, created: this.created });
    return this.withPlugin(o, async (plugin, result) => {
      const next: ResourceState[] = [];
      const replaced: ResourceState[] = [];
      for (const reg of registrations) {
        const old = byUrn.get(reg.urn);
        if (!isDynamic(reg)) {
          const a = answers[`${reg.type}::${reg.name}`];
          const outputs = a?.outputs ?? (preview ? reg.object : { ...reg.object, ...this.created[reg.type] });
          const marked = markSecretKeys(annotateSecrets(outputs, reg.object), reg.additionalSecretOutputs);
          next.push(this.stateOf(reg, a?.id ?? old?.id ?? `${reg.name}-id`, reg.object, marked));
          result.steps.push(this.step(old && !replacing.has(`${reg.type}::${reg.name}`) ? 'same' : old ? 'replace' : 'create', reg, result));
          continue;
        }
        const done = await this.deployOne(plugin, reg, old, preview, result);
        if (done !== undefined) {
          next.push(done.state);
          if (done.replaced) replaced.push(done.replaced);
        }
        if (result.errors.length > 0) {
          // The engine stops at an error: what was done is recorded, the rest keeps its old state.
          if (!preview) this.state = [...next, ...this.state.filter((r) => !next.some((n) => n.urn === r.urn))];
          return;
        }
      }
      const gone = this.state.filter((r) => !registrations.some((reg) => reg.urn === r.urn));
      for (const r of [...replaced, ...gone.reverse()]) {
        if (!preview && isDynamic(r) && !r.retainOnDelete) {
          await plugin.delete(target(r), r.id ?? '', forPlugin(r.outputs, false, 'state'), forPlugin(r.inputs, false, 'inputs'));
        }
        if (gone.includes(r)) result.steps.push(this.step('delete', r, result));
      }
      if (!preview) this.state = next;
    });
  }

  /** Check, Diff and (on `up`) Create/Update of one dynamic resource; undefined when Check failed. */
  private async deployOne(plugin: DynamicProviderPlugin, reg: Registration, old: ResourceState | undefined, preview: boolean, result: OperationResult):
    Promise<{ state: ResourceState; replaced?: ResourceState } | undefined> {
    const t = target(reg);
    const check = await plugin.check(t, forPlugin(old?.inputs ?? {}, preview, 'olds'), forPlugin(reg.object, preview, 'news'));
    if (check.failures.length > 0) {
      result.errors.push(...check.failures.map((f) => `${reg.urn}: ${f.property}: ${f.reason}`));
      return undefined;
    }
    const inputs = annotateSecrets(check.inputs, reg.object);
    let op: StepOp = 'create';
    let replaces: string[] = [];
    if (old) {
      const diff = await plugin.diff(t, old.id ?? '', forPlugin(old.inputs, preview, 'oldInputs'), forPlugin(old.outputs, preview, 'olds'), forPlugin(inputs, preview, 'news'));
      // diffResource: an unknown answer is settled by comparing the inputs.
      const changed = diff.changes === 'some' || (diff.changes === 'unknown' && !deepEqual(forPlugin(old.inputs, true, 'olds'), forPlugin(inputs, true, 'news')));
      replaces = diff.replaces;
      // step_generator.go: a resource with init errors gets an update even when nothing changed.
      op = replaces.length > 0 ? 'replace' : changed || (old.initErrors ?? []).length > 0 ? 'update' : 'same';
    }
    const unknownInputs = Object.keys(reg.object).filter((k) => containsUnknowns(reg.object[k]));
    result.steps.push({ ...this.step(op, reg, result), unknownInputs, ...(replaces.length > 0 ? { replaces } : {}) });
    if (preview) return { state: this.stateOf(reg, old?.id, inputs, old?.outputs ?? inputs) };
    const secretOutputs = (outs: PropertyMap) => markSecretKeys(annotateSecrets(outs, inputs), reg.additionalSecretOutputs);
    if (op === 'same' && old) return { state: this.stateOf(reg, old.id, inputs, old.outputs) };
    if (op === 'update' && old) {
      const updated = await plugin.update(t, old.id ?? '', forPlugin(old.inputs, false, 'oldInputs'), forPlugin(old.outputs, false, 'olds'), forPlugin(inputs, false, 'news'));
      // A partial failure: the new outputs are kept, the update fails with its reasons (step.go UpdateStep.Apply).
      if (updated.initErrors) result.errors.push(...updated.initErrors.map((r) => `${reg.urn}: ${r}`));
      return { state: { ...this.stateOf(reg, old.id, inputs, secretOutputs(updated.outputs)), initErrors: updated.initErrors } };
    }
    const created = await plugin.create(t, forPlugin(inputs, false, 'properties'));
    return { state: this.stateOf(reg, created.id, inputs, secretOutputs(created.outputs)), replaced: op === 'replace' ? old : undefined };
  }

  private stateOf(reg: Registration, id: string | undefined, inputs: PropertyMap, outputs: PropertyMap): ResourceState {
    return {
      urn: reg.urn, type: reg.type, name: reg.name, custom: reg.custom, id, inputs, outputs,
      additionalSecretOutputs: reg.additionalSecretOutputs, retainOnDelete: reg.retainOnDelete,
    };
  }

  private step(op: StepOp, r: { urn: string; type: string; name: string }, result: OperationResult): Step {
    return { op, urn: r.urn, type: r.type, name: r.name, messages: result.logs.filter((l) => l.urn === r.urn).map((l) => l.message) };
  }

  /** One plugin per operation, as the engine loads it, in the program's folder; stopped at the end. */
  private async withPlugin(o: RunOptions, fn: (plugin: DynamicProviderPlugin, result: OperationResult) => Promise<void>): Promise<OperationResult> {
    const engine = await EngineService.start();
    const result: OperationResult = { steps: [], errors: [], logs: engine.logs, pluginOutput: [] };
    const plugin = await DynamicProviderPlugin.start({ cwd: this.program.dir, engineAddress: engine.address, env: this.pluginEnv(o) });
    try {
      await plugin.configure();
      await fn(plugin, result);
    } catch (err) {
      result.errors.push(err instanceof Error ? err.message : String(err));
    } finally {
      await plugin.stop();
      await engine.stop();
      result.pluginOutput = plugin.lines;
    }
    return result;
  }

  /** The CLI's environment, as the engine passes it on (provider_plugin.go NewProvider). */
  private pluginEnv(o: RunOptions): NodeJS.ProcessEnv {
    const { project, config } = this.program;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      PULUMI_PROJECT: project,
      PULUMI_NODEJS_PROJECT: project,
      PULUMI_CONFIG: JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project}:${k}`, v]))),
    };
    // jest.config.js silences the AWS SDK's Node version notice for the test runner; a user's shell does not.
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    // The whole plugin process runs ahead, as the project's other tests move clocks (libfaketime).
    // Only its clock moves: the S3 server keeps the real time, as a store's server would (the AWS SDK
    // corrects its signing clock from the server's answer; the store's locks go by the server's clock).
    return o.clockShiftMs ? { ...env, ...shiftedClock(`+${Math.round(o.clockShiftMs / 1000)}s`) } : env;
  }
}
