import { readFile, rename, writeFile } from 'node:fs/promises';
import { processRunning } from '@emporium/harness';
import type { StackPart } from './stack.js';

/** What a running `npm start` writes for `npm start -- --status` to read. */
export interface StackStatus {
  /** The launcher's pid: the status is stale once it is gone. */
  launcher: number;
  updatedAt: string;
  /** Every supervised process: its state, pid and log. */
  processes: { name: string; state: string; pid: number | null; log: string }[];
  /** The addresses `npm start` printed when ready. */
  parts: readonly StackPart[];
}

let writes = 0;

/** Writes the status atomically (a reader never sees half a file, nor two writes mixed). */
export async function writeStatus(file: string, status: StackStatus): Promise<void> {
  const temporary = `${file}.${String(process.pid)}.${String((writes += 1))}.tmp`;
  await writeFile(temporary, JSON.stringify(status, null, 2));
  await rename(temporary, file);
}

/** The status as a table, or why there is none. */
export async function formatStatus(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return 'No stack has run yet: npm start starts one.';
  const status = JSON.parse(text) as StackStatus;
  if (!processRunning(status.launcher)) return 'The stack is not running (npm start starts it).';
  const width = Math.max(...status.processes.map((p) => p.name.length), 4);
  const rows = status.processes.map(
    (p) =>
      `  ${p.name.padEnd(width)}  ${p.state.padEnd(10)}  ${String(p.pid ?? '-').padEnd(7)}  ${p.log}`,
  );
  const partWidth = Math.max(...status.parts.map((p) => p.name.length), 4);
  return [
    `Emporium (launcher pid ${String(status.launcher)}), as of ${status.updatedAt}:`,
    `  ${'name'.padEnd(width)}  ${'state'.padEnd(10)}  ${'pid'.padEnd(7)}  log`,
    ...rows,
    '',
    ...status.parts.map((p) => `  ${p.name.padEnd(partWidth)}  ${p.url}`),
  ].join('\n');
}
