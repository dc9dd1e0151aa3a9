/**
 * Runs tasks one at a time per key, in arrival order, within this process.
 *
 * Why: FerretDB 1.24 (the local and test database) applies an update by reading the document,
 * changing it and writing it back without holding a lock, so two concurrent `$inc`s on one stock
 * document lose one of them and a conditional update can act on a stale `available`. MongoDB and
 * DocumentDB apply each single-document update atomically, which keeps several replicas correct
 * there; within one process this queue makes FerretDB behave the same. Services on FerretDB
 * therefore run one replica, and route every write of an aggregate (requests, event handlers,
 * the outbox relay's marks) through one mutex keyed by the aggregate id.
 */
export interface KeyedMutex {
  /** Runs `task` after every earlier task of `key` has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/** Creates an empty mutex; keys with nothing queued take no memory. */
export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<void>>();
  return {
    run: async (key, task) => {
      const previous = tails.get(key) ?? Promise.resolve();
      let release: () => void = () => undefined;
      const done = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = previous.then(() => done);
      tails.set(key, tail);
      await previous;
      try {
        return await task();
      } finally {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}
