import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Our native addons (native/binding.gyp targets), built by `npm ci`'s install script (node-gyp). */
export type AddonName = 'sparse' | 'chunk_id' | 'seal' | 'argon2';

const loaded = new Map<AddonName, unknown>();

/**
 * The addon `name` from native/build/Release, or null when it was not built (an install with
 * --ignore-scripts): every caller has a slower pure-JS path. The same code runs from engine/
 * (tests) and from dist/engine/ (the CLI), so the package root is found by walking up.
 */
export function loadAddon<T>(name: AddonName): T | null {
  if (loaded.has(name)) return loaded.get(name) as T | null;
  let addon: T | null = null;
  for (let dir = __dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    const path = join(dir, 'native', 'build', 'Release', `${name}.node`);
    if (existsSync(path)) {
      // A present but unloadable addon (built for another Node ABI) is an installation error: say so.
      addon = require(path) as T;
      break;
    }
  }
  loaded.set(name, addon);
  return addon;
}
