import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** Options of {@link createRedisClient}; every time is in milliseconds. */
export interface RedisClientFactoryOptions {
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** TLS (ElastiCache in-transit encryption); on by default for `rediss://` URLs. */
  tls?: boolean;
  /** Prepended to every key (and to the keys of scripts), e.g. `catalog:`. */
  keyPrefix?: string;
  /** Shown by `CLIENT LIST`, e.g. the service name. */
  connectionName?: string;
  /** TCP (+ TLS) connect bound; default 2 s. */
  connectTimeoutMs?: number;
  /** Bound on any one command, so a stalled server fails requests instead of hanging them; default 1 s. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnect attempts; default 2 s. Reconnection never gives up. */
  maxReconnectDelayMs?: number;
  /** Logs connection loss and recovery (once each, not per reconnect attempt). */
  logger?: Logger;
  /** Passed through last, for anything not covered above. */
  extra?: RedisOptions;
}

/** The ioredis options {@link createRedisClient} uses. */
export function redisClientOptions(options: RedisClientFactoryOptions): RedisOptions {
  const tls = options.tls ?? options.url.startsWith('rediss://');
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  return {
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    // One retry after a reconnect, then the caller gets the error (ioredis' default is 20).
    maxRetriesPerRequest: 1,
    // While disconnected, commands fail at once instead of queueing without bound; callers
    // degrade (the cache reads through) rather than wait for a Redis that may not come back.
    enableOfflineQueue: false,
    // Exponential backoff with jitter, capped; a number (never null) keeps reconnecting forever.
    retryStrategy: (attempt: number) =>
      Math.min(maxDelay, 50 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2),
    ...(tls ? { tls: {} } : {}),
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
    ...options.extra,
  };
}

/**
 * Creates an ioredis client that connects at once and fails fast while Redis is down. It always
 * has an `error` listener, so a dead Redis is logged instead of crashing the process.
 */
export function createRedisClient(options: RedisClientFactoryOptions): Redis {
  const client = new Redis(options.url, redisClientOptions(options));
  const { logger } = options;
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger?.warn({ err: error }, 'redis connection lost; commands fail until it returns');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info('redis connection restored');
  });
  return client;
}

/** Resolves once the client is connected (e.g. before a service reports ready), or rejects. */
export async function waitForRedis(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${String(timeoutMs)} ms`));
    }, timeoutMs);
    client.once('ready', onReady);
  });
}

/** Readiness check: resolves when Redis answers PING, rejects otherwise (fast, see options). */
export async function pingRedis(client: Redis): Promise<void> {
  await client.ping();
}
