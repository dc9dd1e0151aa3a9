import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

/**
 * The order shutdown runs in (DESIGN.md "Graceful shutdown"): readiness fails first, then the
 * HTTP server drains, consumers stop and commit, relays and timers stop, telemetry flushes,
 * and clients close last because everything before may still use them.
 */
export const SHUTDOWN_PHASES = ['server', 'consumers', 'workers', 'telemetry', 'clients'] as const;

/** One step of shutdown. */
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/** What the lifecycle needs of readiness: a way to start failing /readyz. */
export interface ShutdownAware {
  startShutdown(): void;
}

/** Options of {@link createLifecycle}. */
export interface LifecycleOptions {
  logger: Logger;
  readiness: ShutdownAware;
  /** The whole shutdown must end within this many ms, or the process exits 1. */
  timeoutMs: number;
  /** How long readiness fails before the server stops accepting, in ms. */
  drainDelayMs: number;
  /** Ends the process; tests replace it. */
  exit?: (code: number) => void;
}

/** Ordered graceful shutdown of one service process. */
export interface Lifecycle {
  /** Registers a step to run in the given phase (steps of one phase run in parallel). */
  onShutdown(phase: ShutdownPhase, name: string, step: () => Promise<void>): void;
  /** Drains and closes an HTTP server in the `server` phase. */
  trackServer(server: Server): void;
  /** Runs shutdown on the first of these signals; a second one exits at once. */
  listen(signals?: NodeJS.Signals[]): void;
  /** Runs the shutdown sequence once and exits; later calls return the same promise. */
  shutdown(reason: string): Promise<void>;
}

/** Closes a server: no new connections, idle keep-alive sockets closed, in-flight finish. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => {
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
    // Keep-alive connections with no request in flight would otherwise hold close() open.
    server.closeIdleConnections();
  });
}

/** Creates the process lifecycle; main.ts registers each client and server with it. */
export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const steps = new Map<ShutdownPhase, { name: string; step: () => Promise<void> }[]>();
  const servers: Server[] = [];
  let running: Promise<void> | undefined;

  const onShutdown: Lifecycle['onShutdown'] = (phase, name, step) => {
    const list = steps.get(phase) ?? [];
    list.push({ name, step });
    steps.set(phase, list);
  };

  const sequence = async (reason: string): Promise<boolean> => {
    logger.info({ reason }, 'shutdown started: readiness now fails');
    options.readiness.startShutdown();
    if (options.drainDelayMs > 0) await sleep(options.drainDelayMs);
    let clean = true;
    for (const phase of SHUTDOWN_PHASES) {
      const list = steps.get(phase) ?? [];
      const results = await Promise.allSettled(list.map(({ step }) => step()));
      results.forEach((result, index) => {
        const name = list[index]?.name ?? phase;
        if (result.status === 'rejected') {
          clean = false;
          logger.error(
            { err: result.reason as unknown, phase, step: name },
            'shutdown step failed',
          );
        } else {
          logger.debug({ phase, step: name }, 'shutdown step done');
        }
      });
    }
    return clean;
  };

  const shutdown = (reason: string): Promise<void> => {
    running ??= (async () => {
      const started = Date.now();
      const deadline = sleep(options.timeoutMs, 'timeout' as const, { ref: false });
      const outcome = await Promise.race([sequence(reason), deadline]);
      if (outcome === 'timeout') {
        logger.error({ timeoutMs: options.timeoutMs }, 'shutdown deadline passed; exiting');
        for (const server of servers) server.closeAllConnections();
        exit(1);
        return;
      }
      logger.info({ durationMs: Date.now() - started, clean: outcome }, 'shutdown complete');
      exit(outcome ? 0 : 1);
    })();
    return running;
  };

  return {
    onShutdown,
    trackServer: (server) => {
      servers.push(server);
      onShutdown('server', 'http server', () => closeServer(server));
    },
    listen: (signals = ['SIGTERM', 'SIGINT']) => {
      for (const signal of signals) {
        process.on(signal, () => {
          if (running) {
            logger.warn({ signal }, 'second signal during shutdown; exiting now');
            exit(1);
            return;
          }
          void shutdown(signal);
        });
      }
    },
    shutdown,
  };
}
