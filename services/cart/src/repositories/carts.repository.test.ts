import assert from 'node:assert/strict';
import { freePort, startRedis, type RedisServer } from '@emporium/harness';
import { AppError, createMetrics, createRedisClient, waitForRedis } from '@emporium/platform';
import type { Redis } from 'ioredis';
import { setLine, type Cart } from '../domain/cart.js';
import {
  cartKey,
  cartsRepository,
  isRedisUnavailableError,
  type CartsRepository,
} from './carts.repository.js';

const TTL = 600;
const now = new Date('2026-11-27T10:00:00Z');

/** The change that puts one EUR product into a cart. */
function add(sku: string, quantity = 1): (cart: Cart) => Cart {
  return (cart) => {
    const result = setLine(
      cart,
      { sku, name: sku, priceMinor: 100, currency: 'EUR' },
      quantity,
      now,
    );
    if (!result.ok) throw new Error(result.rejection.reason);
    return result.cart;
  };
}

describe('carts repository', () => {
  const metrics = createMetrics({ service: 'cart', runtimeMetrics: false });
  let server: RedisServer;
  let redis: Redis;
  let carts: CartsRepository;

  before(async () => {
    server = await startRedis();
    redis = createRedisClient({ url: server.url });
    await waitForRedis(redis);
    carts = cartsRepository(redis, { ttlSeconds: TTL, metrics });
  });
  after(async () => {
    await redis.quit();
    await server.stop();
  });

  it('stores a cart as one hash per user, with a field per line', async () => {
    await carts.update('u-hash', add('MUG-1', 2));
    const hash = await redis.hgetall(cartKey('u-hash'));
    assert.equal(hash.currency, 'EUR');
    assert.match(hash.rev ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(JSON.parse(hash['line:MUG-1'] ?? '{}'), {
      name: 'MUG-1',
      quantity: 2,
      unitPriceMinor: 100,
    });
    const cart = await carts.get('u-hash');
    assert.deepEqual(cart.lines, [
      { sku: 'MUG-1', name: 'MUG-1', quantity: 2, unitPriceMinor: 100 },
    ]);
  });

  it('concurrent writes to one cart lose no line (compare-and-set, re-applied on conflict)', async () => {
    const skus = Array.from({ length: 30 }, (_, i) => `SKU-${String(i).padStart(2, '0')}`);
    await Promise.all(skus.map((sku) => carts.update('u-race', add(sku))));
    const cart = await carts.get('u-race');
    assert.deepEqual(
      cart.lines.map((line) => line.sku),
      skus,
    );
    // The writes really raced: some lost a compare-and-set and were applied again.
    assert.match(
      await metrics.text('cart_write_conflicts_total'),
      /cart_write_conflicts_total\{[^}]*\} [1-9]/,
    );
  });

  it('every write restarts the TTL; a change that changes nothing writes nothing', async () => {
    await carts.update('u-ttl', add('MUG-1'));
    assert.ok((await redis.ttl(cartKey('u-ttl'))) > TTL - 5);
    await redis.expire(cartKey('u-ttl'), 30);
    const unchanged = await carts.update('u-ttl', (cart) => cart);
    assert.equal(unchanged.after, unchanged.before);
    assert.ok((await redis.ttl(cartKey('u-ttl'))) <= 30);
    await carts.update('u-ttl', add('MUG-1', 3));
    assert.ok((await redis.ttl(cartKey('u-ttl'))) > TTL - 5);
  });

  it('an error thrown by the change leaves the cart as it was', async () => {
    await carts.update('u-keep', add('MUG-1'));
    const before = await redis.hgetall(cartKey('u-keep'));
    await assert.rejects(
      carts.update('u-keep', () => {
        throw new AppError('NOPE', 409, 'refused');
      }),
      { code: 'NOPE' },
    );
    assert.deepEqual(await redis.hgetall(cartKey('u-keep')), before);
  });

  it('clear deletes the cart and says whether there was one', async () => {
    await carts.update('u-clear', add('MUG-1'));
    assert.equal(await carts.clear('u-clear'), true);
    assert.equal(await carts.clear('u-clear'), false);
    assert.deepEqual((await carts.get('u-clear')).lines, []);
  });

  it('a Redis that is down is a 503 with Retry-After, not a crash', async () => {
    const dead = createRedisClient({ url: `redis://127.0.0.1:${String(await freePort())}` });
    try {
      const down = cartsRepository(dead, { ttlSeconds: TTL, metrics });
      for (const call of [
        () => down.get('u-1'),
        () => down.update('u-1', add('MUG-1')),
        () => down.clear('u-1'),
      ]) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.status, 503);
          assert.equal(error.code, 'UNAVAILABLE');
          assert.equal(error.headers['retry-after'], '5');
          return true;
        });
      }
    } finally {
      dead.disconnect();
    }
  });

  it('tells outages from bugs among Redis errors', async () => {
    const reply = (message: string): Error =>
      Object.assign(new Error(message), { name: 'ReplyError' });
    assert.equal(
      isRedisUnavailableError(reply('LOADING Redis is loading the dataset in memory')),
      true,
    );
    assert.equal(
      isRedisUnavailableError(reply("READONLY You can't write against a read only replica.")),
      true,
    );
    assert.equal(isRedisUnavailableError(new Error('Connection is closed.')), true);
    assert.equal(isRedisUnavailableError(new Error('Command timed out')), true);
    assert.equal(isRedisUnavailableError(new TypeError('x is undefined')), false);
    // A key of the wrong type is a bug (or foreign data), surfaced as such rather than as 503.
    await redis.set(cartKey('u-wrongtype'), 'not a hash');
    await assert.rejects(carts.get('u-wrongtype'), (error: unknown) => {
      assert.ok(error instanceof Error && !(error instanceof AppError));
      assert.equal(isRedisUnavailableError(error), false);
      assert.match(error.message, /WRONGTYPE/);
      return true;
    });
  });
});
