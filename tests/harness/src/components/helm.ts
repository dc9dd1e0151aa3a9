import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../process.js';
import { ensureTool } from '../tools/provision.js';
import { ToolError } from '../tools/run.js';

/** What a helm command printed. */
export interface HelmResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs the pinned helm (or, with `version: 'helm3'`, the pinned Helm 3) with its cache, config
 * and data homes in a temp folder, so tests never read or write the user's Helm state. Throws
 * a ToolError with helm's stderr on failure.
 */
export async function helm(
  args: readonly string[],
  cwd?: string,
  version: 'helm' | 'helm3' = 'helm',
): Promise<HelmResult> {
  const tool = await ensureTool(version);
  const home = await tempDir('helm');
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  try {
    return await new Promise<HelmResult>((resolve, reject) => {
      const child = spawn(tool.bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (err) => {
        reject(new ToolError('helm', err.message));
      });
      child.on('close', (code) => {
        if (code === 0) resolve({ stdout, stderr });
        else
          reject(
            new ToolError(
              'helm',
              `helm ${args.join(' ')} exited ${String(code)}: ${stderr.trim()}`,
            ),
          );
      });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
