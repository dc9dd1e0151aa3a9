import { spawn } from 'node:child_process';
import { ToolError } from '@emporium/harness';

/**
 * Runs a load generator to completion and returns its stdout; rejects with a ToolError quoting
 * stderr when it fails. Unlike the harness's runCommand it gives the child no stdin: writing
 * (even an empty) stdin to a process that has already exited raises EPIPE on a socket nobody
 * listens to, which crashed whole bench runs when vegeta finished or failed fast.
 */
export function runTool(tool: string, bin: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => {
      reject(new ToolError(tool, err.message));
    });
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new ToolError(tool, `${tool} ${args.join(' ')} exited ${String(code)}: ${stderr.trim()}`),
        );
    });
  });
}
