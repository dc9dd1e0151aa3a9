import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../telemetry/metrics.js';

/** Options of {@link createCache}. */
export interface CacheOptions<T> {
  redis: Redis;
  /** The cache's name: the `cache` label and part of every key (`cache:<name>:<key>`). */
  name: string;
  /** Lifetime of an entry in seconds; it also bounds how stale a value can get (see below). */
  ttlSeconds: number;
  metrics: Metrics;
  logger: Logger;
  /**
   * Checks a value read back from Redis (e.g. a zod schema), so an entry written by an older
   * release is reloaded instead of returned; without it the JSON is trusted as `T`.
   */
  schema?: { parse(value: unknown): T };
}

/** A read-through cache of JSON values in Redis that never lets Redis fail a read. */
export interface Cache<T> {
  /**
   * The cached value, or the loader's (then stored with the TTL). Redis errors are counted
   * and the loader's value returned; only the loader's own errors reach the caller. An
   * `undefined` result (nothing found) is returned but not cached.
   */
  getOrLoad(key: string, loader: () => Promise<T>): Promise<T>;
  /**
   * Deletes an entry after its source changed. Resolves false (logged, not thrown) if Redis
   * is down; the entry then expires with its TTL.
   */
  invalidate(key: string): Promise<boolean>;
}

/**
 * Creates a cache-aside cache (DESIGN.md "Browse"; "Redis down → catalog reads MongoDB").
 * Concurrent misses of one key in this process share one loader call. A read racing an update
 * can still store the value from before the update; the TTL bounds that staleness.
 */
export function createCache<T>(options: CacheOptions<T>): Cache<T> {
  const { redis, name, ttlSeconds, logger } = options;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${String(ttlSeconds)}`);
  }
  const requests = options.metrics.counter({
    name: 'cache_requests_total',
    help: 'Cache lookups by result: hit, miss, or error (Redis failed; the source was read).',
    labelNames: ['cache', 'result'],
  });
  const keyOf = (key: string): string => `cache:${name}:${key}`;
  const inflight = new Map<string, Promise<T>>();

  const decode = (raw: string): T => {
    const value: unknown = JSON.parse(raw);
    return options.schema ? options.schema.parse(value) : (value as T);
  };

  const store = async (key: string, value: T): Promise<void> => {
    if (value === undefined) return;
    try {
      await redis.set(keyOf(key), JSON.stringify(value), 'EX', ttlSeconds);
    } catch (error) {
      logger.debug({ err: error, cache: name, key }, 'cache write failed');
    }
  };

  const load = (key: string, loader: () => Promise<T>, write: boolean): Promise<T> => {
    const running = inflight.get(key);
    if (running) return running;
    const loading = (async () => {
      try {
        const value = await loader();
        if (write) await store(key, value);
        return value;
      } finally {
        inflight.delete(key);
      }
    })();
    inflight.set(key, loading);
    return loading;
  };

  return {
    getOrLoad: async (key, loader) => {
      let raw: string | null;
      try {
        raw = await redis.get(keyOf(key));
      } catch (error) {
        // Debug, not warn: while Redis is down this happens on every read; the client logs
        // the outage itself once.
        requests.inc({ cache: name, result: 'error' });
        logger.debug({ err: error, cache: name, key }, 'cache read failed; reading the source');
        return load(key, loader, false);
      }
      if (raw === null) {
        requests.inc({ cache: name, result: 'miss' });
        return load(key, loader, true);
      }
      try {
        const value = decode(raw);
        requests.inc({ cache: name, result: 'hit' });
        return value;
      } catch (error) {
        requests.inc({ cache: name, result: 'error' });
        logger.warn({ err: error, cache: name, key }, 'cached value is invalid; reloading it');
        return load(key, loader, true);
      }
    },
    invalidate: async (key) => {
      try {
        await redis.del(keyOf(key));
        return true;
      } catch (error) {
        logger.warn(
          { err: error, cache: name, key },
          'cache invalidation failed; the TTL will expire it',
        );
        return false;
      }
    },
  };
}
