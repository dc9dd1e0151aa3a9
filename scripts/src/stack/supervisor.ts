import { logTail } from '@emporium/harness';
import type { ControlName, Stack } from './stack.js';

/** Options of {@link supervise}. */
export interface SupervisorOptions {
  readonly stack: Pick<Stack, 'control' | 'controlled'>;
  /** Tells the user one line (or several, joined by newlines). */
  readonly say: (text: string) => void;
  /** Restarts of one process within {@link windowMs} before it is left down. */
  readonly maxRestarts?: number;
  readonly windowMs?: number;
  /** The wait before the n-th restart (1-based) within the window, in ms. */
  readonly backoffMs?: (attempt: number) => number;
  /** How often every process is looked at, in ms. */
  readonly pollMs?: number;
}

/** A process manager's view of one process. */
type State = 'up' | 'restarting' | 'down';

/** A running supervision; stop it before stopping the stack, or the stop looks like crashes. */
export interface Supervisor {
  /** Every watched process and its state now. */
  status(): ReadonlyMap<ControlName, State>;
  stop(): void;
}

/** 1 s, 2 s, 4 s … capped at 30 s. */
const defaultBackoff = (attempt: number): number => Math.min(30_000, 1000 * 2 ** (attempt - 1));

/**
 * Watches every process of the stack as a process manager would: a process that exits is
 * reported at once (name, exit code or signal, the last lines of its log) and started again
 * after a backoff; one that keeps dying (`maxRestarts` within `windowMs`) is left down and the
 * stack reported degraded. A status line follows every change.
 */
export function supervise(options: SupervisorOptions): Supervisor {
  const { stack, say } = options;
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.windowMs ?? 10 * 60_000;
  const backoff = options.backoffMs ?? defaultBackoff;
  const states = new Map<ControlName, State>(stack.controlled().map((name) => [name, 'up']));
  const restarts = new Map<ControlName, number[]>();
  let stopped = false;
  // A function, not the variable: it changes under the awaits below, which narrowing cannot see.
  const isStopped = (): boolean => stopped;

  const statusLine = (): string => {
    const by = (state: State): ControlName[] =>
      [...states].filter(([, s]) => s === state).map(([name]) => name);
    const [up, restarting, down] = [by('up'), by('restarting'), by('down')];
    return [
      `status: ${String(up.length)} of ${String(states.size)} up`,
      ...(restarting.length > 0 ? [`restarting ${restarting.join(', ')}`] : []),
      ...(down.length > 0 ? [`DOWN ${down.join(', ')} (the stack is degraded)`] : []),
    ].join(' · ');
  };

  const recover = async (name: ControlName): Promise<void> => {
    const control = stack.control(name);
    states.set(name, 'restarting');
    const log = control.logFile;
    say(
      [
        `✗ ${name} exited (${String(control.exit ?? 'unknown')}); the last lines of ${log}:`,
        ...logTail(log, 10).map((line) => `    ${line}`),
      ].join('\n'),
    );
    const now = Date.now();
    const recent = (restarts.get(name) ?? []).filter((at) => now - at < windowMs);
    if (recent.length >= maxRestarts) {
      states.set(name, 'down');
      say(
        `✗ ${name} is left down: it died ${String(recent.length + 1)} times in ${String(windowMs / 60_000)} min`,
      );
      say(statusLine());
      return;
    }
    const wait = backoff(recent.length + 1);
    say(`  ${name}: restarting in ${(wait / 1000).toFixed(0)} s`);
    say(statusLine());
    await new Promise((resolve) => setTimeout(resolve, wait).unref());
    if (isStopped()) return;
    recent.push(Date.now());
    restarts.set(name, recent);
    try {
      await control.start();
      if (isStopped()) return;
      states.set(name, 'up');
      say(`✓ ${name} is back (restart ${String(recent.length)})`);
    } catch (error) {
      // Looked at again on the next round: it counts against the limit like a crash.
      states.set(name, 'up');
      say(
        `✗ ${name} did not start again: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!isStopped()) say(statusLine());
  };

  const timer = setInterval(() => {
    if (isStopped()) return;
    for (const [name, state] of states) {
      if (state !== 'up' || stack.control(name).pid !== undefined) continue;
      void recover(name);
    }
  }, options.pollMs ?? 1000);
  timer.unref();
  say(statusLine());

  return {
    status: () => new Map(states),
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
