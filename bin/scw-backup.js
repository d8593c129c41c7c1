#!/usr/bin/env node
'use strict';
// The AWS SDK warns on every run that its releases after January 2027 will need Node 22. The version
// pinned in package-lock.json supports Node 20, so the warning only adds noise to our output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// If the event loop ever empties before main() settles (a bug: something awaited that nothing will
// resolve), exit non-zero instead of reporting success for work that did not finish.
process.exitCode = 1;
// V8 doubles the young generation (up to 2 × 16 MiB semi-spaces) as a backup's small objects keep
// surviving, and those pages stay resident. A growth factor of 1, set before anything is loaded,
// slows that growth (it does not stop it: a restore still reached 2 × 16 MiB): a backup's peak was
// 135 MiB with it and 148 MiB without (medians of 3, the bench disk), for no measurable time. The
// command-line flag --max-semi-space-size would cap it, but V8 reads that only at start-up, and a
// shebang cannot pass it portably. docs/ARCHITECTURE.md "Memory" has the budget.
require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
require('../dist/cli/main.js').main(process.argv).then((code) => { process.exitCode = code; });
