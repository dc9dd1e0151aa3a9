import { existsSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prettyFactory } from 'pino-pretty';

/** Options of {@link followLog}. */
export interface FollowOptions {
  /** The stack's log folder (`<data folder>/logs`). */
  logDir: string;
  /** A process of the stack: a service, `<service>-envoy`, kafka, redis, mongodb… */
  name: string;
  /** Print the lines as they are (the apps' pino JSON) instead of pretty. */
  json: boolean;
  /** How many of the last lines to print first. */
  lines: number;
  write: (text: string) => void;
  /** Resolves when following should stop (Ctrl-C). */
  until: Promise<unknown>;
}

/** The names that have a log in `logDir`, sorted. */
export async function logNames(logDir: string): Promise<string[]> {
  const files = existsSync(logDir) ? await readdir(logDir) : [];
  return files
    .filter((file) => file.endsWith('.log'))
    .map((file) => file.slice(0, -'.log'.length))
    .sort();
}

/**
 * Prints the last lines of one process's log and then every line appended to it, as `tail -f`
 * would; the apps' JSON lines pretty-printed by pino-pretty (other processes' lines as they
 * are). A restart appends to the same file, so following survives it.
 */
export async function followLog(options: FollowOptions): Promise<void> {
  const file = join(options.logDir, `${options.name}.log`);
  const pretty = prettyFactory({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l' });
  const show = (line: string): void => {
    if (line.length === 0) return;
    if (options.json || !line.startsWith('{')) {
      options.write(`${line}\n`);
      return;
    }
    try {
      options.write(pretty(line));
    } catch {
      options.write(`${line}\n`);
    }
  };
  const state = { stopped: false };
  void options.until.then(() => (state.stopped = true));
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    // The tail: at most the last 64 KiB, of which the last `lines` whole lines.
    const from = Math.max(0, size - 65_536);
    const head = Buffer.alloc(size - from);
    await handle.read(head, 0, head.length, from);
    const lines = head.toString('utf8').split('\n');
    if (from > 0) lines.shift();
    const last = lines.at(-1) === '' ? lines.slice(0, -1) : lines;
    last.slice(-options.lines).forEach(show);
    let position = size;
    let partial = '';
    while (!state.stopped) {
      const { size: now } = await handle.stat();
      if (now < position) position = 0; // truncated: start again from its beginning
      if (now > position) {
        const chunk = Buffer.alloc(now - position);
        await handle.read(chunk, 0, chunk.length, position);
        position = now;
        const text = partial + chunk.toString('utf8');
        const complete = text.split('\n');
        partial = complete.pop() ?? '';
        complete.forEach(show);
      }
      await Promise.race([sleep(250), options.until]);
    }
  } finally {
    await handle.close();
  }
}
