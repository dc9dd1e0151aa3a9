import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '@emporium/harness';
import type { Redis } from 'ioredis';
import { createRedisClient, pingRedis, redisClientOptions, waitForRedis } from './redis-client.js';

describe('redis client', () => {
  let server: RedisServer;
  let redis: Redis;

  before(async () => {
    server = await startRedis();
    redis = createRedisClient({ url: server.url, connectionName: 'redis-client-test' });
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('has bounded, fail-fast options and TLS for rediss:// URLs', () => {
    const options = redisClientOptions({
      url: 'rediss://cache.example:6379',
      keyPrefix: 'catalog:',
    });
    assert.deepEqual(options.tls, {});
    assert.equal(options.keyPrefix, 'catalog:');
    assert.equal(options.enableOfflineQueue, false);
    assert.equal(options.maxRetriesPerRequest, 1);
    assert.ok((options.connectTimeout ?? Infinity) <= 5_000);
    assert.ok((options.commandTimeout ?? Infinity) <= 5_000);
    // Reconnects forever, but never waits more than the cap between attempts.
    assert.ok((options.retryStrategy?.(1_000) ?? Infinity) <= 2_000);
    assert.equal(redisClientOptions({ url: server.url }).tls, undefined);
  });

  it('answers PING when up and fails fast, without hanging, when Redis is down', async () => {
    await waitForRedis(redis);
    await pingRedis(redis);
    await server.stop();
    const started = Date.now();
    await assert.rejects(pingRedis(redis));
    await assert.rejects(redis.get('anything'));
    assert.ok(Date.now() - started < 1_500, `failed in ${String(Date.now() - started)} ms`);
  });
});
