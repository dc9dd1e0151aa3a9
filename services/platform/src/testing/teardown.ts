/** Stop functions run in reverse order of registration, as nested setups unwind. */
export interface Teardown {
  /** Registers a stop function; to be run before those registered earlier. */
  readonly defer: (stop: () => Promise<void>) => void;
  /**
   * Runs every registered function once, last registered first, carrying on past failures so
   * one broken stop leaves no component running; rejects with the first failure afterwards.
   */
  readonly run: () => Promise<void>;
}

/** Creates an empty {@link Teardown}. */
export function createTeardown(): Teardown {
  const stops: (() => Promise<void>)[] = [];
  return {
    defer: (stop) => {
      stops.push(stop);
    },
    run: async () => {
      const failures: unknown[] = [];
      // Popped, not iterated: a second run finds nothing to repeat, and a stop registered while
      // running still runs.
      for (let stop = stops.pop(); stop; stop = stops.pop()) {
        try {
          await stop();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    },
  };
}
