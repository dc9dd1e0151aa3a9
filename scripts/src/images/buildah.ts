import { spawn } from 'node:child_process';
import { runLogged, type RunOptions } from '@emporium/harness';
import { CliError } from '../cli.js';

/** Options for {@link runLoggedLines}. */
export type LoggedRun = Omit<RunOptions, 'tool'>;

/**
 * Runs a command to completion with its output in a log file, streaming its lines to `onLine`;
 * a failure names the command and quotes the log's tail, so an image build that breaks says why
 * without rerunning it.
 */
export function runLoggedLines(
  command: string,
  args: readonly string[],
  options: LoggedRun,
): Promise<void> {
  return runLogged(command, args, { tool: 'images', ...options });
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
