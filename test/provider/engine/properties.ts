/**
 * Property values as the Pulumi engine holds and sends them, for the test engine (deployment.ts).
 * Values are kept in the language host's JSON form: a secret is `{ [specialSigKey]: secretSig, value }`
 * and an unknown (preview) is the string `unknownValue`, both from @pulumi/pulumi's runtime/rpc.ts.
 * The engine's own rules, ported from sdk/go/common/resource/plugin/provider_plugin.go:
 * - a provider that answers Configure with acceptSecrets=false (the Node dynamic-provider plugin
 *   does) gets every secret in clear (MarshalProperties with KeepSecrets false);
 * - unknowns are sent only when the call allows them (KeepUnknowns: previews);
 * - annotateSecrets: an output is marked secret again when the input of the same key held a secret,
 *   walking into objects present on both sides.
 */
import * as pulumi from '@pulumi/pulumi';

export type Value = unknown;
export type PropertyMap = Record<string, Value>;

export const UNKNOWN: string = pulumi.runtime.unknownValue;
const SIG_KEY: string = pulumi.runtime.specialSigKey;
const SECRET_SIG: string = pulumi.runtime.specialSecretSig;

export function isSecret(v: Value): v is { value: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function secret(v: Value): Value {
  return isSecret(v) ? v : { [SIG_KEY]: SECRET_SIG, value: v };
}

export function containsSecrets(v: Value): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecrets);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(containsSecrets);
  return false;
}

export function containsUnknowns(v: Value): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(containsUnknowns);
  return false;
}

/** Error from the test engine: what the real one would refuse to do. */
export class EngineContractError extends Error {
  readonly code = 'TEST_ENGINE_CONTRACT';
}

/**
 * What a provider that does not accept secrets receives: secrets unwrapped at any depth; unknowns
 * kept only when the call allows them (MarshalOptions.KeepUnknowns), else it is the engine's bug.
 */
export function forPlugin(props: PropertyMap, keepUnknowns: boolean, label: string): PropertyMap {
  const walk = (v: Value, path: string): Value => {
    if (isSecret(v)) return walk(v.value, path);
    if (v === UNKNOWN && !keepUnknowns) throw new EngineContractError(`${label}: ${path} is unknown outside a preview`);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, `${path}.${k}`)]));
    return v;
  };
  return walk(props, label) as PropertyMap;
}

/** provider_plugin.go annotateSecrets: mark `outs[k]` secret where `ins[k]` holds a secret. */
export function annotateSecrets(outs: PropertyMap, ins: PropertyMap | undefined): PropertyMap {
  if (!ins) return outs;
  const result: PropertyMap = { ...outs };
  for (const [k, inValue] of Object.entries(ins)) {
    if (!(k in result)) continue;
    const out = result[k];
    const inPlain = isSecret(inValue) ? undefined : inValue;
    if (isPlainObject(out) && isPlainObject(inPlain)) result[k] = annotateSecrets(out, inPlain);
    else if (!isSecret(out) && containsSecrets(inValue)) result[k] = secret(out);
  }
  return result;
}

/** additionalSecretOutputs: these output keys are secret whatever the provider said. */
export function markSecretKeys(outs: PropertyMap, keys: readonly string[]): PropertyMap {
  const result = { ...outs };
  for (const k of keys) if (k in result) result[k] = secret(result[k]);
  return result;
}

function isPlainObject(v: Value): v is PropertyMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isSecret(v);
}

/** Deep equality of two property values (the engine's DeepEquals over the JSON form). */
export function deepEqual(a: Value, b: Value): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Value): Value {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as PropertyMap)[k])]));
  }
  return v;
}
