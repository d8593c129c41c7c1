#!/usr/bin/env node
'use strict';
// npm's install script: build our N-API addons (binding.gyp; `seal` compiles zstd-napi's copy of zstd) with the node-gyp npm runs
// scripts with. Without a C toolchain the build fails; the engine then takes its pure-JavaScript
// paths (engine/native-addon.ts), which write the same bytes, more slowly: say so, do not fail the
// install of a package that works without them.
const { spawnSync } = require('node:child_process');
const r = spawnSync('node-gyp', ['rebuild', '--directory', __dirname], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  process.stderr.write('scw-backup: the native addons (native/) did not build (no C toolchain or Node headers?); ' +
    'using the slower JavaScript paths for file holes and chunk ids, and worker threads for sealing. Install make, a C compiler and python3, then `npm rebuild scw-backup`.\n');
}
