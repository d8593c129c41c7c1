import { join } from 'node:path';

/**
 * The absolute path of a provider/ module, for a dynamic provider to `require` inside its methods:
 * Pulumi serializes the provider's code into the state, and a captured string survives that where a
 * captured module or client would not (it would be serialized by value, or not at all).
 */
export function providerModule(name: string): string {
  return join(__dirname, '..', name);
}

/**
 * An input whose nested fields may themselves be outputs (an API key from BackupIdentity inside the
 * `scaleway` connection): Pulumi resolves nested outputs in resource inputs, its `Input` type only
 * says so for the top level.
 */
export type DeepInput<T> = T extends string | number | boolean | undefined | null
  ? import('@pulumi/pulumi').Input<T>
  : import('@pulumi/pulumi').Input<{ [K in keyof T]: DeepInput<T[K]> }>;
