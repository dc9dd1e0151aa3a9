import assert from 'node:assert/strict';
import { eventually, startRedis, type RedisServer } from '@emporium/harness';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createCache } from './cache-aside.js';
import { createRedisClient, pingRedis, waitForRedis } from './redis-client.js';

interface Product {
  id: string;
  price: number;
}

const logger = pino({ level: 'silent' });

/** cache_requests_total for one cache and result. */
async function requests(metrics: Metrics, cache: string, result: string): Promise<number> {
  // In OpenMetrics mode prom-client keeps a counter under its name without `_total`.
  const metric = metrics.registry.getSingleMetric('cache_requests');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.find((v) => v.labels.cache === cache && v.labels.result === result)?.value ?? 0;
}

describe('cache-aside', () => {
  let server: RedisServer;
  let redis: Redis;
  let metrics: Metrics;
  let seq = 0;
  const cacheName = () => `products-${String(++seq)}`;

  before(async () => {
    server = await startRedis();
    redis = createRedisClient({ url: server.url, logger });
    await waitForRedis(redis);
    metrics = createMetrics({ service: 'test', runtimeMetrics: false });
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('misses, loads and stores with the TTL, then hits (both counted)', async () => {
    const name = cacheName();
    const cache = createCache<Product>({ redis, name, ttlSeconds: 60, metrics, logger });
    let loads = 0;
    const loader = () => {
      loads += 1;
      return Promise.resolve({ id: 'p-1', price: 995 });
    };
    assert.deepEqual(await cache.getOrLoad('p-1', loader), { id: 'p-1', price: 995 });
    assert.deepEqual(await cache.getOrLoad('p-1', loader), { id: 'p-1', price: 995 });
    assert.equal(loads, 1, 'the second read came from Redis');
    assert.equal(await requests(metrics, name, 'miss'), 1);
    assert.equal(await requests(metrics, name, 'hit'), 1);

    assert.equal(await redis.get(`cache:${name}:p-1`), JSON.stringify({ id: 'p-1', price: 995 }));
    const ttl = await redis.ttl(`cache:${name}:p-1`);
    assert.ok(ttl > 55 && ttl <= 60, `TTL ${String(ttl)} s`);
  });

  it('invalidates a key so the next read loads again', async () => {
    const name = cacheName();
    const cache = createCache<Product>({ redis, name, ttlSeconds: 60, metrics, logger });
    let price = 100;
    const loader = () => Promise.resolve({ id: 'p-2', price });
    await cache.getOrLoad('p-2', loader);
    price = 200;
    assert.equal((await cache.getOrLoad('p-2', loader)).price, 100, 'still cached');
    assert.equal(await cache.invalidate('p-2'), true);
    assert.equal(await redis.exists(`cache:${name}:p-2`), 0);
    assert.equal((await cache.getOrLoad('p-2', loader)).price, 200);
  });

  it('shares one loader call between concurrent misses and does not cache undefined', async () => {
    const name = cacheName();
    const cache = createCache<Product | undefined>({
      redis,
      name,
      ttlSeconds: 60,
      metrics,
      logger,
    });
    let loads = 0;
    const slow = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { id: 'p-3', price: 1 };
    };
    await Promise.all(Array.from({ length: 5 }, () => cache.getOrLoad('p-3', slow)));
    assert.equal(loads, 1);

    assert.equal(await cache.getOrLoad('absent', () => Promise.resolve(undefined)), undefined);
    assert.equal(await redis.exists(`cache:${name}:absent`), 0);
  });

  it('reloads an entry that fails the schema and counts an error', async () => {
    const name = cacheName();
    const schema = z.object({ id: z.string(), price: z.number().int() });
    const cache = createCache<Product>({ redis, name, ttlSeconds: 60, metrics, logger, schema });
    await redis.set(`cache:${name}:p-4`, JSON.stringify({ id: 'p-4', cost: 'old shape' }));
    const value = await cache.getOrLoad('p-4', () => Promise.resolve({ id: 'p-4', price: 7 }));
    assert.deepEqual(value, { id: 'p-4', price: 7 });
    assert.equal(await requests(metrics, name, 'error'), 1);
    assert.equal(await redis.get(`cache:${name}:p-4`), JSON.stringify(value), 'overwritten');
  });

  it('returns the loader’s value and counts an error while Redis is down', async () => {
    const name = cacheName();
    const cache = createCache<Product>({ redis, name, ttlSeconds: 60, metrics, logger });
    await server.stop();
    await eventually(
      'the client notices',
      () => Promise.resolve(redis.status === 'ready' ? undefined : true),
      5_000,
    );

    const started = Date.now();
    const value = await cache.getOrLoad('p-5', () => Promise.resolve({ id: 'p-5', price: 3 }));
    assert.deepEqual(value, { id: 'p-5', price: 3 });
    assert.ok(Date.now() - started < 500, 'failed fast, no waiting for Redis');
    assert.equal(await requests(metrics, name, 'error'), 1);
    assert.equal(await cache.invalidate('p-5'), false, 'invalidate reports, never throws');

    // A loader's own failure is still the caller's to see.
    await assert.rejects(
      cache.getOrLoad('p-6', () => Promise.reject(new Error('mongo down'))),
      /mongo down/,
    );
    await assert.rejects(pingRedis(redis));

    // Redis returns on the same port: the client reconnects and caching resumes.
    server = await startRedis({ port: server.port });
    await waitForRedis(redis, 10_000);
    await cache.getOrLoad('p-5', () => Promise.resolve({ id: 'p-5', price: 3 }));
    assert.equal(await redis.exists(`cache:${name}:p-5`), 1);
  });
});
