import { ToolError } from '@emporium/harness';

/** A failure whose message is already written for a person. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/**
 * Runs a command-line entry point: a ToolError or CliError ends it with its message alone
 * (no stack trace) and exit code 1; anything else is a bug and keeps its stack.
 */
export function runCli(command: string, main: () => Promise<void>): void {
  main().then(
    () => {
      process.exitCode ??= 0;
    },
    (err: unknown) => {
      if (err instanceof ToolError || err instanceof CliError) {
        process.stderr.write(`${command}: ${err.message}\n`);
      } else {
        process.stderr.write(
          `${command}: unexpected failure\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        );
      }
      process.exitCode = 1;
    },
  );
}

/** Writes a progress line to stderr, keeping stdout for results. */
export function progress(tool: string, message: string): void {
  process.stderr.write(`  ${tool}: ${message}\n`);
}
