import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '@emporium/harness';
import { Redis } from 'ioredis';
import { createRateLimiter } from './rate-limiter.js';
import { createRedisClient, waitForRedis } from './redis-client.js';

describe('rate limiter', () => {
  let server: RedisServer;
  let redis: Redis;
  let seq = 0;
  const limiterName = () => `api-${String(++seq)}`;

  before(async () => {
    server = await startRedis();
    redis = createRedisClient({ url: server.url, keyPrefix: 'test:' });
    await waitForRedis(redis);
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('allows exactly capacity of many concurrent takes', async () => {
    // A refill this slow adds nothing measurable while the takes run.
    const limiter = createRateLimiter({
      redis,
      name: limiterName(),
      capacity: 10,
      refillPerSecond: 0.001,
    });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.take('user-1')));
    assert.equal(decisions.filter((d) => d.allowed).length, 10);
    assert.deepEqual(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    for (const denied of decisions.filter((d) => !d.allowed)) {
      assert.equal(denied.remaining, 0);
      // One token at 0.001 per second is about 1000 s away.
      assert.ok(
        denied.retryAfterSeconds > 990 && denied.retryAfterSeconds <= 1000,
        String(denied.retryAfterSeconds),
      );
    }
  });

  it('refills with time and says how long to wait', async () => {
    const limiter = createRateLimiter({
      redis,
      name: limiterName(),
      capacity: 2,
      refillPerSecond: 10,
    });
    assert.equal((await limiter.take('k')).allowed, true);
    assert.equal((await limiter.take('k')).allowed, true);
    const denied = await limiter.take('k');
    assert.equal(denied.allowed, false);
    assert.ok(
      denied.retryAfterSeconds > 0 && denied.retryAfterSeconds <= 0.1,
      String(denied.retryAfterSeconds),
    );

    await new Promise((resolve) =>
      setTimeout(resolve, Math.ceil(denied.retryAfterSeconds * 1000) + 20),
    );
    const later = await limiter.take('k');
    assert.equal(later.allowed, true, 'a token came back after retryAfterSeconds');
    assert.equal(later.retryAfterSeconds, 0);

    await new Promise((resolve) => setTimeout(resolve, 400));
    const full = await limiter.take('k');
    assert.equal(full.allowed, true);
    assert.equal(full.remaining, 1, 'refilled to capacity, never beyond');
  });

  it('charges a cost and rejects one larger than the bucket', async () => {
    const limiter = createRateLimiter({
      redis,
      name: limiterName(),
      capacity: 5,
      refillPerSecond: 1,
    });
    const big = await limiter.take('k', 4);
    assert.deepEqual(big, { allowed: true, remaining: 1, retryAfterSeconds: 0 });
    const tooMuch = await limiter.take('k', 3);
    assert.equal(tooMuch.allowed, false);
    assert.ok(
      tooMuch.retryAfterSeconds > 1.9 && tooMuch.retryAfterSeconds <= 2,
      String(tooMuch.retryAfterSeconds),
    );
    await assert.rejects(limiter.take('k', 6), RangeError);
  });

  it('keeps separate keys independent', async () => {
    const limiter = createRateLimiter({
      redis,
      name: limiterName(),
      capacity: 1,
      refillPerSecond: 0.01,
    });
    assert.equal((await limiter.take('alice')).allowed, true);
    assert.equal((await limiter.take('alice')).allowed, false);
    assert.equal((await limiter.take('bob')).allowed, true);
  });

  it('expires a bucket once it would be full again', async () => {
    const name = limiterName();
    const limiter = createRateLimiter({ redis, name, capacity: 2, refillPerSecond: 1 });
    await limiter.take('idle');
    // One token short of full refills in 1 s; the key lives that plus a second of slack.
    const raw = new Redis(server.url);
    try {
      const ttl = await raw.pttl(`test:ratelimit:${name}:idle`);
      assert.ok(
        ttl > 1_500 && ttl <= 2_000,
        `PTTL ${String(ttl)} ms (the client's keyPrefix applies)`,
      );
    } finally {
      raw.disconnect();
    }
  });
});
