import { ensureTool, PROVISIONED_TOOLS, toolVersions } from '@emporium/harness';
import { progress, runCli } from './cli.js';

// Installs every pinned tool that is missing from the cache; a warm cache makes this a no-op.
runCli('provision', async () => {
  const versions = toolVersions();
  for (const tool of PROVISIONED_TOOLS) {
    const paths = await ensureTool(tool, progress);
    const where = 'bin' in paths ? paths.bin : paths.classpath;
    process.stdout.write(`${tool} ${versions[tool].version} ${where}\n`);
  }
});
