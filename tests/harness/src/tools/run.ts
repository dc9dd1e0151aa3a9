import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';

/** A tool could not be provisioned or started; the message names the tool and says why. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    /** The tool (or component) at fault, e.g. `kafka`. */
    readonly tool: string,
    message: string,
  ) {
    super(`${tool}: ${message}`);
  }
}

/** The absolute path of an executable found on PATH, or undefined. */
export function which(command: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** Options for {@link runLogged}. */
export interface RunOptions {
  /** The tool the command works for, named in errors. */
  tool: string;
  /** Appends the command's stdout and stderr here. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each line of output as it comes (progress); the log keeps them all. */
  onLine?: (line: string) => void;
}

/** How many trailing log lines an error quotes. */
const TAIL_LINES = 15;

/**
 * Runs a command to completion with its output appended to a log file, so a provisioning run
 * prints nothing on success and the tail of the log on failure.
 */
export async function runLogged(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<void> {
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.write(`\n$ ${command} ${args.join(' ')}\n`);
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const { onLine } = options;
    let partial = '';
    if (onLine) {
      const onData = (chunk: Buffer): void => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    }
    child.on('error', (err) => {
      resolve(err.message);
    });
    child.on('close', (status, signal) => {
      if (partial && onLine) onLine(partial);
      resolve(status ?? `signal ${signal ?? 'unknown'}`);
    });
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (code === 0) return;
  const text = await readFile(options.logFile, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n    ');
  throw new ToolError(
    options.tool,
    `\`${command} ${args.join(' ')}\` failed (${String(code)}); see ${options.logFile}:\n    ${tail}`,
  );
}

/** Runs a command and returns its stdout and stderr together (for version probes). */
export async function capture(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited ${String(status)}: ${out}`));
    });
  });
}

/** What a command printed. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Options for {@link runCommand}. */
export interface CommandOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Written to the command's stdin (then closed). */
  stdin?: string | undefined;
}

/**
 * Runs a tool's command to completion and returns what it printed; rejects with a ToolError
 * naming `tool` and quoting stderr when it fails (helm, kubectl, skaffold).
 */
export function runCommand(
  tool: string,
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => {
      reject(new ToolError(tool, err.message));
    });
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new ToolError(tool, `${tool} ${args.join(' ')} exited ${String(code)}: ${stderr.trim()}`),
        );
    });
    // A command that exits without reading its stdin (most do) closes the pipe first; the
    // write's EPIPE would otherwise be an unhandled 'error' that ends this process. The exit
    // code above says whether the command worked.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
