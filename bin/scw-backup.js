#!/usr/bin/env node
'use strict';
// The AWS SDK warns on every run that its releases after January 2027 will need Node 22. The version
// pinned in package-lock.json supports Node 20, so the warning only adds noise to our output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// If the event loop ever empties before main() settles (a bug: something awaited that nothing will
// resolve), exit non-zero instead of reporting success for work that did not finish.
process.exitCode = 1;
// A backup hashes and seals on libuv's thread pool (engine/pipeline/native-chunk-pool.ts, one call
// per core at once): leave libuv's default four threads to file reads next to them. libuv reads this
// when the pool first starts, which is later.
process.env.UV_THREADPOOL_SIZE ??= String(4 + Math.min(8, require('node:os').availableParallelism()));
// Keep V8's young generation small (engine/young-generation.ts has the measurements), before
// anything else is loaded.
require('../dist/engine/young-generation.js').slowYoungGenerationGrowth();
require('../dist/cli/main.js').main(process.argv).then((code) => { process.exitCode = code; });
