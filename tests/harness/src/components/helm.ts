import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../process.js';
import { ensureTool } from '../tools/provision.js';
import { runCommand, type CommandOutput } from '../tools/run.js';

/** What a helm command printed. */
export type HelmResult = CommandOutput;

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
    return await runCommand('helm', tool.bin, args, { cwd, env });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
