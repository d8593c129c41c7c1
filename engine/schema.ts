/**
 * zod, through its v3 API (the `zod/v3` entry point of the zod 4 package). Zod 4's CommonJS entry
 * loads ~95 modules (every locale, the JSON Schema converters, the compiler): +11.4 MiB RSS and
 * ~58 ms when loaded alone on Node 20, against +2.1 MiB and ~12 ms for `zod/v3`. In the CLI, every
 * command starts in 0.15 s instead of 0.19 s and 4 MiB smaller, and a command's peak is that start
 * plus the KDF's 64 MiB (docs/ARCHITECTURE.md "Memory"). What zod 4 checked by default, schemas
 * here ask for explicitly: numbers `.finite()`, integers `.int().safe()` (zod 4's `.int()` stays
 * within ±(2^53 − 1)).
 */
export { z } from 'zod/v3';
