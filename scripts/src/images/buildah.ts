import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from '../cli.js';

/** Options for {@link runLoggedLines}. */
export interface LoggedRun {
  /** Every line of output is appended here. */
  logFile: string;
  /** Called with each line as it comes (progress); the log keeps them all. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** How many trailing log lines a failure quotes. */
const TAIL_LINES = 20;

/**
 * Runs a command to completion with its output in a log file, streaming its lines to `onLine`;
 * a failure is a CliError that names the command and quotes the log's tail, so an image build
 * that breaks says why without rerunning it.
 */
export async function runLoggedLines(
  command: string,
  args: readonly string[],
  options: LoggedRun,
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
    let partial = '';
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      if (!options.onLine) return;
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      resolve(err.message);
    });
    child.on('close', (status, signal) => {
      if (partial && options.onLine) options.onLine(partial);
      resolve(status ?? `signal ${signal ?? 'unknown'}`);
    });
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (code === 0) return;
  const text = await readFile(options.logFile, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n    ');
  throw new CliError(
    `\`${command} ${args.join(' ')}\` failed (${String(code)}); see ${options.logFile}:\n    ${tail}`,
  );
}

/** Runs a command and returns its stdout; rejects with its stderr when it fails. */
export function output(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolve(stdout);
      else
        reject(
          new CliError(`${command} ${args.join(' ')} exited ${String(status)}: ${stderr.trim()}`),
        );
    });
  });
}

/** One image in buildah's local storage, as `buildah images --json` lists it. */
export interface StoredImage {
  id: string;
  names: string[];
  /** Human-readable, e.g. "424 MB". */
  size: string;
}

/** The image stored under `ref`, or undefined when buildah has none by that name. */
export async function storedImage(buildah: string, ref: string): Promise<StoredImage | undefined> {
  const listed = await output(buildah, ['images', '--json', ref]).catch(() => undefined);
  if (listed === undefined) return undefined;
  const images = JSON.parse(listed) as StoredImage[] | null;
  return images?.[0];
}

/** One label of a stored image ('' when the image has no such label). */
export async function imageLabel(buildah: string, ref: string, label: string): Promise<string> {
  const format = `{{index .OCIv1.Config.Labels ${JSON.stringify(label)}}}`;
  const value = await output(buildah, ['inspect', '--type', 'image', '--format', format, ref]);
  // Go templates print a missing map key as "<no value>".
  return value.trim() === '<no value>' ? '' : value.trim();
}
