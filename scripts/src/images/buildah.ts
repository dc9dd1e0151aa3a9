import { basename } from 'node:path';
import { runCommand, runLogged, type RunOptions } from '@emporium/harness';

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

/** Runs a command and returns its stdout; rejects with a ToolError quoting its stderr. */
export async function output(command: string, args: readonly string[]): Promise<string> {
  return (await runCommand(basename(command), command, args)).stdout;
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
