/**
 * Running a Pulumi program for the test engine: run-program.js in a plain Node child process, under
 * the SDK's mocks, gives back each registration as the engine would receive it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PropertyMap } from './properties';

const exec = promisify(execFile);

export interface ProgramSpec {
  /** The folder of the program's Pulumi.yaml: the engine's working folder, where plugins run. */
  dir: string;
  /** The compiled program (its index.js). */
  program: string;
  project: string;
  stack: string;
  /** Stack config, keys without the project prefix. */
  config: Record<string, string>;
  secretKeys: string[];
}

export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  /** The inputs, serialized by the SDK: secrets wrapped, unknowns as the unknown sentinel. */
  object: PropertyMap;
  dependencies: string[];
  additionalSecretOutputs: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete?: boolean;
}

export interface ProgramRun {
  preview: boolean;
  /** By `<type>::<name>`: the id and outputs the engine answers an existing resource with. */
  answers: Record<string, { id?: string; outputs: PropertyMap }>;
  /** By type: the outputs a new resource gets on `up`. */
  created: Record<string, PropertyMap>;
}

export async function runProgram(spec: ProgramSpec, run: ProgramRun): Promise<Registration[]> {
  const dir = await mkdtemp(join(tmpdir(), 'scwb-program-'));
  try {
    const out = join(dir, 'registrations.json');
    const env = { ...process.env, OUT: out, PROGRAM_SPEC: JSON.stringify({ ...spec, ...run }) };
    // Asynchronous: the S3 server and the emulator answer from this process's event loop.
    await exec(process.execPath, [join(__dirname, 'run-program.js')], { env, cwd: spec.dir, maxBuffer: 16 * 1024 * 1024 });
    return (JSON.parse(await readFile(out, 'utf8')) as { registrations: Registration[] }).registrations;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
