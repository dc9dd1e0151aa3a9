import { COMPONENT_CHECKS, ensureTool, PROVISIONED_TOOLS } from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';

/** The components to check: every one, or those named on the command line. */
function selected(argv: readonly string[]): typeof COMPONENT_CHECKS {
  if (argv.length === 0) return COMPONENT_CHECKS;
  const known = COMPONENT_CHECKS.map((c) => c.name);
  const unknown = argv.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new CliError(`unknown component(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
  return COMPONENT_CHECKS.filter((c) => argv.includes(c.name));
}

// Provisions what is missing, then starts each component, does one real round trip through it
// and stops it, printing `<component> ok <milliseconds>` (or FAILED with the reason).
runCli('infra:check', async () => {
  const checks = selected(process.argv.slice(2));
  for (const tool of PROVISIONED_TOOLS) await ensureTool(tool, progress);
  const failed: string[] = [];
  for (const check of checks) {
    const started = performance.now();
    try {
      await check.run();
      process.stdout.write(`${check.name} ok ${String(Math.round(performance.now() - started))}\n`);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      process.stdout.write(
        `${check.name} FAILED ${String(Math.round(performance.now() - started))}: ${why}\n`,
      );
      failed.push(check.name);
    }
  }
  if (failed.length > 0) throw new CliError(`failed: ${failed.join(', ')}`);
});
