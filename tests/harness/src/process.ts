import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError } from './tools/run.js';

/**
 * A free TCP port on 127.0.0.1, drawn at random below Linux's ephemeral range (32768+). A port
 * from that range (what binding port 0 gives) can be taken between this check and the bind by
 * the source port of any outgoing connection, which a test lane running beside makes by the
 * thousand: CI once lost a stack start to `cannot bind '127.0.0.1:45813'` that way.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portFree(port)) return port;
  }
  throw new Error('no free port on 127.0.0.1 between 20000 and 31999');
}

/** Whether 127.0.0.1:`port` can be listened on right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * The first of `count` consecutive free ports (an Envoy's egress listeners take consecutive
 * ports). Bases are drawn at random from the range the kernel does not hand out by itself.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // 20000–32000: below Linux's ephemeral range (32768+), where no outgoing connection takes one.
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await portFree(port);
    if (free) return base;
  }
  throw new Error(`no ${String(count)} consecutive free ports on 127.0.0.1`);
}

/** A fresh temporary folder, e.g. for one component's data. */
export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `emporium-${prefix}-`));
}

/** Options for {@link startProcess}. */
export interface StartOptions {
  /** The component's name, used in errors and the log file's name. */
  name: string;
  command: string;
  args: readonly string[];
  /** Folder for the log (and anything else the component writes); removed on stop. */
  workDir: string;
  /**
   * Keep the log in this file instead of the work folder: appended to (a restart adds to it)
   * and kept after stop, so `npm start` leaves every process's log in its data folder.
   */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves once the component really serves; retried until `readyTimeoutMs`. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /**
   * Let the process outlive this one (`npm run kube:up`): its own process group, output straight
   * into the log file, and no kill when this process exits. stop() still ends it while we run.
   */
  detached?: boolean;
}

/** A running component process owned by a test or script. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Where its stdout and stderr go. */
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after the grace period; removes the work folder. Idempotent. */
  readonly stop: () => Promise<void>;
  /** True until the process has exited. */
  running(): boolean;
  /** How it ended: its exit code or the signal that ended it; undefined while it runs. */
  exit(): number | string | undefined;
}

const live = new Set<ChildProcess>();

// Last line of defence: whatever a test forgot to stop dies with the test process.
process.once('exit', () => {
  killAll();
});

/** The pids of every process this one started and that still runs (not detached ones). */
export function livePids(): number[] {
  return [...live].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}

/**
 * True while a process with this pid runs. A zombie, ended but not reaped by its parent yet,
 * counts as ended (Linux: its state in /proc); so does a pid that is not there. EPERM means it
 * exists under another user.
 */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    // Field 3, after the parenthesised command name, is the state; Z is a zombie.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc (not Linux), or it ended just now: kill(pid, 0) is the answer there is.
    return existsSync('/proc/self') ? false : true;
  }
}

/** SIGKILL to every process this one started that still runs: the forced stop. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** How many log lines a failure quotes. */
const LOG_TAIL = 20;

/** The last `lines` lines of a log file, or a note that there is none. */
export function logTail(file: string, lines = LOG_TAIL): string[] {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return ['(no log)'];
  }
}

function tail(file: string): string {
  return logTail(file).join('\n    ');
}

/**
 * Starts a component, waits until `ready()` says it serves, and hands back a handle whose
 * stop() always cleans up. If the process exits or never gets ready, it is killed and the
 * error quotes the tail of its log.
 */
export async function startProcess(options: StartOptions): Promise<ManagedProcess> {
  const logFile = options.logFile ?? join(options.workDir, `${options.name}.log`);
  if (options.logFile) await mkdir(dirname(options.logFile), { recursive: true });
  const spawnOptions = { cwd: options.cwd ?? options.workDir, env: options.env ?? process.env };
  let child: ChildProcess;
  let closeLog: () => Promise<void>;
  if (options.detached) {
    // Pipes would tie the child to this process; a file descriptor of its own does not.
    const fd = openSync(logFile, 'a');
    child = spawn(options.command, options.args, {
      ...spawnOptions,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    child.unref();
    closeLog = () => Promise.resolve();
  } else {
    const log = createWriteStream(logFile, { flags: options.logFile ? 'a' : 'w' });
    child = spawn(options.command, options.args, {
      ...spawnOptions,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    live.add(child);
    closeLog = () => new Promise<void>((resolve) => log.end(resolve));
  }
  let exitCode: number | string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      live.delete(child);
      resolve();
    });
  });
  let spawnError: Error | undefined;
  // 'spawn' or 'error' (e.g. ENOENT) comes first; wait for it so a missing binary is reported
  // as such rather than racing a ready() probe.
  await new Promise<void>((resolve) => {
    child.once('spawn', resolve);
    child.once('error', (err) => {
      spawnError = err;
      exitCode = 'spawn error';
      live.delete(child);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        // Unref'd: the exiting child keeps the loop alive, the grace timer must not. A detached
        // child is unref'd itself, so then the timer keeps this process alive until it ends.
        const grace = sleep(options.stopGraceMs ?? 10_000, undefined, {
          ref: options.detached ?? false,
        }).then(() => 'timeout' as const);
        if ((await Promise.race([exited, grace])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await closeLog();
      // EMPORIUM_KEEP_LOGS=1 keeps each component's folder (and log) for a post-mortem.
      if (process.env.EMPORIUM_KEEP_LOGS) process.stderr.write(`kept ${logFile}\n`);
      else await rm(options.workDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exitCode !== undefined) {
      const why = spawnError ? spawnError.message : `exited (${String(exitCode)})`;
      const detail = tail(logFile);
      await stop();
      throw new ToolError(options.name, `${why} before it was ready; log:\n    ${detail}`);
    }
    if (await options.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      const detail = tail(logFile);
      await stop();
      throw new ToolError(
        options.name,
        `not ready after ${String(options.readyTimeoutMs ?? 60_000)} ms; log:\n    ${detail}`,
      );
    }
    await sleep(200);
  }

  return {
    name: options.name,
    pid: child.pid ?? -1,
    logFile,
    stop,
    running: () => exitCode === undefined,
    exit: () => exitCode,
  };
}

/** Resolves true when an HTTP GET of `url` answers with a status below 300. */
export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.body?.cancel();
  return response.ok;
}
