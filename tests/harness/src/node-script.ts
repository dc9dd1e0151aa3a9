import { spawn } from 'node:child_process';

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
