/** A dependency check: resolves when the dependency can serve, rejects (or hangs) otherwise. */
export type ReadinessCheck = () => Promise<void>;

/** The status of one check in a readiness report. */
export type CheckStatus = 'ok' | 'failed' | 'timeout';

/** The outcome of running every check once. */
export interface ReadinessReport {
  ready: boolean;
  shuttingDown: boolean;
  /** Each registered check by name; empty when shutdown short-circuits the run. */
  checks: Record<string, CheckStatus>;
  /** Why each failing check failed, for the log only: messages may name hosts or credentials. */
  failures: Record<string, string>;
}

/** The readiness registry `/readyz` reads and the lifecycle module flips on SIGTERM. */
export interface Readiness {
  /** Adds a dependency check; a name registered twice replaces the first. */
  register(name: string, check: ReadinessCheck): void;
  /** Marks the service as draining: `/readyz` answers 503 from now on. */
  startShutdown(): void;
  isShuttingDown(): boolean;
  /** Runs every check concurrently, each bounded by the timeout. */
  check(): Promise<ReadinessReport>;
}

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  /**
   * Per-check timeout in ms. Kubernetes' probe timeout defaults to 1 s, so a check must
   * answer well inside it for `/readyz` to report which one hung rather than just time out.
   */
  timeoutMs?: number;
}

class CheckTimeout extends Error {
  override readonly name = 'CheckTimeout';
}

async function withTimeout(check: ReadinessCheck, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new CheckTimeout(`no answer within ${String(timeoutMs)} ms`));
    }, timeoutMs);
  });
  try {
    // Promise.resolve().then() also catches a check that throws synchronously.
    await Promise.race([Promise.resolve().then(check), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates an empty readiness registry (ready until a check fails or shutdown starts). */
export function createReadiness(options: ReadinessOptions = {}): Readiness {
  const timeoutMs = options.timeoutMs ?? 800;
  const checks = new Map<string, ReadinessCheck>();
  let shuttingDown = false;

  const isShuttingDown = (): boolean => shuttingDown;

  return {
    register(name, check) {
      checks.set(name, check);
    },
    startShutdown() {
      shuttingDown = true;
    },
    isShuttingDown,
    async check() {
      if (shuttingDown) return { ready: false, shuttingDown, checks: {}, failures: {} };
      const entries = [...checks];
      const outcomes = await Promise.allSettled(
        entries.map(([, check]) => withTimeout(check, timeoutMs)),
      );
      const report: ReadinessReport = { ready: true, shuttingDown, checks: {}, failures: {} };
      outcomes.forEach((outcome, index) => {
        const name = entries[index]?.[0] ?? String(index);
        if (outcome.status === 'fulfilled') {
          report.checks[name] = 'ok';
          return;
        }
        const reason: unknown = outcome.reason;
        report.ready = false;
        report.checks[name] = reason instanceof CheckTimeout ? 'timeout' : 'failed';
        report.failures[name] = reason instanceof Error ? reason.message : String(reason);
      });
      // A SIGTERM that arrived while the checks ran wins.
      if (isShuttingDown()) return { ...report, ready: false, shuttingDown: true };
      return report;
    },
  };
}
