/**
 * Values a preview does not know yet. During `pulumi preview` (and the preview every `pulumi up`
 * starts with), an input computed from a resource still to be created or replaced (a new API key, an
 * autonamed bucket) reaches Check and Diff as this sentinel string, at the depth where it is unknown:
 * the engine marshals unknowns with KeepUnknowns in a preview (sdk/go/common/resource/plugin/
 * provider_plugin.go Check/Diff) as plugin.UnknownStringValue, and the Node SDK names the same string
 * `unknownValue` (sdk/nodejs/runtime/rpc.ts). It is a well-formed UUID, so shape checks alone would let
 * it through. Plain data here, no Pulumi import: the *-ops modules run in the provider plugin.
 */
export const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** Does `v` hold an unknown at any depth? */
export function containsUnknowns(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(containsUnknowns);
  return false;
}

/** The top-level keys of `inputs` that hold an unknown: what a preview cannot judge yet. */
export function unknownKeys<T extends object>(inputs: T): Array<keyof T & string> {
  return (Object.keys(inputs) as Array<keyof T & string>).filter((k) => containsUnknowns(inputs[k]));
}

/**
 * The keys of `keys` that are known on both sides and differ. An unknown new value may or may not
 * change: a Diff asks for a replacement only for a change it knows of.
 */
export function knownChanges<T extends object, K extends keyof T & string>(olds: Partial<T>, news: Partial<T>, keys: readonly K[]): K[] {
  return keys.filter((k) => !containsUnknowns(news[k]) && !sameValue(olds[k], news[k]));
}

/** Equal as JSON, with absent and null alike (state round trips drop undefined). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a ?? null)) === JSON.stringify(canonical(b ?? null));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.keys(v).sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined && (v as Record<string, unknown>)[k] !== null)
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}
