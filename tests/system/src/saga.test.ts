import assert from 'node:assert/strict';
import {
  eventually,
  startKafka,
  startMongo,
  startRedis,
  type KafkaServer,
  type MongoServer,
  type RedisServer,
} from '@emporium/harness';
import { startServices, type RunningServices } from '@emporium/scripts/stack';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { call } from './client.js';

/** How many shoppers check out at the same time. */
const SHOPPERS = 20;
/** Half the payments are declined, so both branches of the saga run (decided per order id). */
const DECLINE_RATE = '0.5';

interface Product {
  id: string;
  sku: string;
  priceMinor: number;
}
interface Stock {
  sku: string;
  available: number;
  reserved: number;
  committed: number;
}
interface OrderLine {
  sku: string;
  quantity: number;
}
interface Order {
  orderId: string;
  userId: string;
  status: 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';
  lines: OrderLine[];
}

describe('the order saga across the real services (saga)', function () {
  let kafka: KafkaServer;
  let mongo: MongoServer;
  let redis: RedisServer;
  let stack: RunningServices;
  const url = (service: string): string => {
    const found = stack.services[service]?.url;
    assert.ok(found, `${service} is not running`);
    return found;
  };

  before(async function () {
    [kafka, mongo, redis] = await Promise.all([startKafka(), startMongo(), startRedis()]);
    stack = await startServices({
      infra: { kafkaBrokers: kafka.brokers, mongoUrl: mongo.url, redisUrl: redis.url },
      env: {
        payments: { PSP_DECLINE_RATE: DECLINE_RATE, PSP_LATENCY_MS: '20' },
        inventory: { INVENTORY_INITIAL_STOCK: '1000' },
      },
    });
  });

  after(async function () {
    await stack.stop();
    await Promise.all([kafka.stop(), mongo.stop(), redis.stop()]);
  });

  it(`${String(SHOPPERS)} concurrent orders all end SHIPPED or CANCELLED, and every ledger adds up`, async function () {
    // 1. Three products from the seeded catalogue, once inventory has opened their stock.
    const { body: page } = await call<{ items: Product[] }>(`${url('catalog')}/products?limit=3`, {
      expect: 200,
    });
    const products = page.items;
    assert.equal(products.length, 3);
    const initial = new Map<string, Stock>();
    for (const product of products) {
      const stock = await eventually(
        `stock of ${product.sku}`,
        async () => {
          const { status, body } = await call<Stock>(`${url('inventory')}/stock/${product.sku}`);
          return status === 200 ? body : undefined;
        },
        60_000,
      );
      initial.set(product.sku, stock);
    }

    // 2. Each shopper fills a cart: one to three units of one to three products.
    const shoppers = Array.from({ length: SHOPPERS }, (_, i) => `saga-user-${String(i)}`);
    await Promise.all(
      shoppers.map(async (userId, i) => {
        for (const [j, product] of products.entries()) {
          if (j > i % 3) continue;
          await call(`${url('cart')}/carts/${userId}/lines/${product.sku}`, {
            method: 'PUT',
            body: JSON.stringify({ quantity: 1 + ((i + j) % 3) }),
            expect: 200,
          });
        }
      }),
    );

    // 3. Everyone checks out at once.
    const placed = await Promise.all(
      shoppers.map(async (userId) => {
        const { body, headers } = await call<{ orderId: string; status: string }>(
          `${url('orders')}/orders`,
          { method: 'POST', body: JSON.stringify({ userId }), expect: 202 },
        );
        assert.equal(body.status, 'PENDING');
        assert.equal(headers.get('location'), `/orders/${body.orderId}`);
        return body.orderId;
      }),
    );
    assert.equal(new Set(placed).size, SHOPPERS);

    // 4. Every order reaches a final state.
    const orders = await eventually(
      'every order SHIPPED or CANCELLED',
      async () => {
        const all = await Promise.all(
          placed.map(
            async (id) =>
              (await call<Order>(`${url('orders')}/orders/${id}`, { expect: 200 })).body,
          ),
        );
        return all.every((o) => o.status === 'SHIPPED' || o.status === 'CANCELLED')
          ? all
          : undefined;
      },
      120_000,
    );
    const shipped = orders.filter((o) => o.status === 'SHIPPED');
    const cancelled = orders.filter((o) => o.status === 'CANCELLED');
    assert.ok(shipped.length > 0, 'some orders shipped');
    assert.ok(cancelled.length > 0, 'some payments were declined');

    // 5. Inventory settles each reservation from the events (asynchronously, after the order's
    // final state): shipped units committed, cancelled units released, none left held.
    await eventually(
      'every reservation settled',
      async () => {
        const statuses = await Promise.all(
          orders.map(async (order) => {
            const { body } = await call<{ status: string }>(
              `${url('inventory')}/reservations/${order.orderId}`,
              { expect: 200 },
            );
            return body.status === (order.status === 'SHIPPED' ? 'COMMITTED' : 'RELEASED');
          }),
        );
        return statuses.every(Boolean) ? true : undefined;
      },
      60_000,
    );
    const units = (list: Order[], sku: string): number =>
      list
        .flatMap((o) => o.lines)
        .filter((l) => l.sku === sku)
        .reduce((sum, l) => sum + l.quantity, 0);
    for (const product of products) {
      const before = initial.get(product.sku);
      assert.ok(before);
      const { body: after } = await call<Stock>(`${url('inventory')}/stock/${product.sku}`, {
        expect: 200,
      });
      const committed = units(shipped, product.sku);
      assert.equal(after.reserved, before.reserved, `${product.sku}: nothing left reserved`);
      assert.equal(
        after.committed - before.committed,
        committed,
        `${product.sku}: shipped units committed`,
      );
      assert.equal(
        after.available,
        before.available - committed,
        `${product.sku}: cancelled units released`,
      );
    }

    // 6. One payment per order, never two; its outcome matches the order's.
    const client = new MongoClient(mongo.url);
    try {
      const payments = client
        .db('payments')
        .collection<{ _id: string; orderId: string; status: string }>('payments');
      for (const order of orders) {
        const records = await payments.find({ _id: order.orderId }).toArray();
        assert.equal(records.length, 1, `one payment for ${order.orderId}`);
        assert.equal(records[0]?.status, order.status === 'SHIPPED' ? 'AUTHORIZED' : 'DECLINED');
      }
    } finally {
      await client.close();
    }

    // 7. Every step of every order left the customer a notification.
    const expected = (order: Order): string[] =>
      order.status === 'SHIPPED'
        ? ['OrderPlaced', 'PaymentAuthorized', 'ShipmentDispatched']
        : ['OrderPlaced', 'PaymentDeclined', 'OrderCancelled'];
    for (const order of orders) {
      await eventually(`notifications of ${order.orderId}`, async () => {
        const { body } = await call<{ items: { orderId: string; eventType: string }[] }>(
          `${url('notifications')}/notifications?userId=${order.userId}`,
          { expect: 200 },
        );
        const types = body.items.filter((n) => n.orderId === order.orderId).map((n) => n.eventType);
        const want = expected(order);
        const found = want.every((type) => types.some((t) => t === type || t.endsWith(`.${type}`)));
        return found && types.length === want.length ? true : undefined;
      });
    }

    // 8. Nothing was dead-lettered: every event was handled.
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.endsWith('.dlq'));
      assert.ok(topics.length >= 5, `dead-letter topics exist: ${topics.join(', ')}`);
      for (const topic of topics) {
        const offsets = await admin.fetchTopicOffsets(topic);
        assert.ok(
          offsets.every((p) => p.high === '0'),
          `${topic} is empty`,
        );
      }
    } finally {
      await admin.disconnect();
    }
  });
});
