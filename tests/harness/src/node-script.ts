import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './tools/catalogue.js';

/** How a script run ended and what it printed. */
export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript entry point (e.g. a service's main.ts) to completion as its own Node
 * process, through tsx and with the workspaces' `development` condition, with exactly `env`
 * (plus PATH): the way tests check what a bad start prints and which code it exits with.
 */
export function runNodeScript(
  file: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=development', file, ...args],
      { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * V8 settings of a service run on this machine. Node 24 lets the young generation of a
 * service grow to 64–128 MiB under load (semi-spaces of up to 32–64 MiB each), which was half
 * of each service's memory in `npm start`; 8 MiB semi-spaces keep it at 16–24 MiB, for more
 * frequent scavenges of about a millisecond each.
 */
export const SERVICE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** How to run a service's main.ts. */
export interface ServiceCommand {
  command: string;
  args: string[];
  /** The service's folder (its package.json is there). */
  cwd: string;
}

/**
 * How a service runs: from its TypeScript sources (`src/main.ts` through tsx, with the
 * workspaces' `development` condition, as `npm run dev` runs it), or from its compiled
 * `dist/main.js` as its image runs it (after `tsc -b`; about 165 MiB less RSS per process,
 * tsx's loader and its transforms). Either way with the telemetry preload, which must load
 * before main imports http, express or mongodb.
 */
export function serviceMain(service: string, from: 'src' | 'dist' = 'src'): ServiceCommand {
  const cwd = join(repoRoot(), 'services', service);
  const preload = ['--import', '@emporium/platform/telemetry/register', ...SERVICE_V8_FLAGS];
  return {
    command: process.execPath,
    args:
      from === 'src'
        ? ['--import', 'tsx', '--conditions=development', ...preload, join(cwd, 'src', 'main.ts')]
        : [...preload, join(cwd, 'dist', 'main.js')],
    cwd,
  };
}
