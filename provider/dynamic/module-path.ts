/**
 * How a dynamic provider reaches the module that does its work (provider/*-ops.ts).
 *
 * Pulumi serializes a dynamic provider's code into the state, and `pulumi refresh` and `pulumi
 * destroy` run the text stored there, not the program's (the Node plugin, cmd/dynamic-provider,
 * loads `__provider` from the request's properties, which are the state's outputs for Read and
 * Delete). Anything the text captured must therefore still hold on whatever machine runs them: an
 * absolute path does not (another checkout, a renamed repository, a CI runner's workspace). What
 * holds is the package's name, resolved as the program itself resolves `scw-backup/provider`: from
 * the folder the engine starts the plugin in, the program's (pkg/engine/project.go getPwdMain; the
 * plugin inherits it as its working folder, plugin.go newPlugin `cmd.Dir = pwd`). That finds the
 * package in the program's node_modules, or the package itself when the program lives inside it
 * (Node's package self-reference, which needs package.json "exports": this repository's examples).
 */

/** package.json "name" (test/provider/serialization.test.ts checks they agree). */
export const PACKAGE_NAME = 'scw-backup';

export type ProviderModuleName = 'source-ops' | 'store-ops' | 'restore-ops';

/** The package export (package.json "exports") a dynamic provider loads its operations from. */
export function providerModule(name: ProviderModuleName): string {
  return `${PACKAGE_NAME}/provider/${name}`;
}

/** The package is not installed where Pulumi runs the program. */
export class ProviderModuleNotFoundError extends Error {
  readonly code = 'PROVIDER_MODULE_NOT_FOUND';
  constructor(readonly spec: string, readonly folder: string, options?: { cause?: unknown }) {
    super(`${spec}: not found from ${folder}, the folder Pulumi runs this program in: install the package there ` +
      `(npm install ${PACKAGE_NAME}); refresh and destroy load it from the program's folder, like the program does`, options);
    this.name = 'ProviderModuleNotFoundError';
  }
}

/**
 * `require(spec)` as a module of the program's folder would. Called inside each provider method, so
 * that only this function and the spec string are serialized into the state.
 */
export function loadProviderModule<T>(spec: string): T {
  const { createRequire } = require('node:module') as typeof import('node:module');
  const { join } = require('node:path') as typeof import('node:path');
  const folder = process.cwd();
  try {
    return createRequire(join(folder, 'index.js'))(spec) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Only the module itself missing; a module that fails while loading is its own error.
    if (e?.code === 'MODULE_NOT_FOUND' && typeof e.message === 'string' && e.message.includes(`'${spec}'`)) {
      throw new ProviderModuleNotFoundError(spec, folder, { cause: err });
    }
    throw err;
  }
}

/**
 * An input whose nested fields may themselves be outputs (an API key from BackupIdentity inside the
 * `scaleway` connection): Pulumi resolves nested outputs in resource inputs, its `Input` type only
 * says so for the top level.
 */
export type DeepInput<T> = T extends string | number | boolean | undefined | null
  ? import('@pulumi/pulumi').Input<T>
  : import('@pulumi/pulumi').Input<{ [K in keyof T]: DeepInput<T[K]> }>;
