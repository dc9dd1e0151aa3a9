import assert from 'node:assert/strict';
import {
  call,
  eventually,
  startKafka,
  startMongo,
  startRedis,
  type KafkaServer,
  type MongoServer,
  type RedisServer,
} from '@emporium/harness';
import { randomUUID } from 'node:crypto';
import { SUBSCRIPTIONS, TOPICS } from '@emporium/contracts';
import { DLQ_HEADERS, encodeCloudEvent } from '@emporium/platform';
import { startTestIssuer, type TestIssuer } from '@emporium/platform/testing';
import { startServices, type RunningServices } from '@emporium/scripts/stack';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { MongoClient } from 'mongodb';

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
  let issuer: TestIssuer;
  /** An admin's `Authorization`: the services believe no caller without a verified token. */
  let adminBearer = '';
  /** {@link call} as an admin, who may act for every shopper. */
  const asAdmin = <T>(target: string, init: RequestInit & { expect?: number } = {}) =>
    call<T>(target, { ...init, headers: { authorization: adminBearer } });
  const url = (service: string): string => {
    const found = stack.services[service]?.url;
    assert.ok(found, `${service} is not running`);
    return found;
  };

  before(async function () {
    [kafka, mongo, redis] = await Promise.all([startKafka(), startMongo(), startRedis()]);
    issuer = await startTestIssuer();
    adminBearer = await issuer.bearer('saga-admin', ['admin']);
    stack = await startServices({
      infra: { kafkaBrokers: kafka.brokers, mongoUrl: mongo.url, redisUrl: redis.url },
      env: {
        gateway: issuer.gatewayEnv,
        payments: { PSP_DECLINE_RATE: DECLINE_RATE, PSP_LATENCY_MS: '20' },
        inventory: { INVENTORY_INITIAL_STOCK: '1000' },
      },
    });
  });

  after(async function () {
    await stack.stop();
    await issuer.stop();
    await Promise.all([kafka.stop(), mongo.stop(), redis.stop()]);
  });

  it(`${String(SHOPPERS)} concurrent orders all end SHIPPED or CANCELLED, and every ledger adds up`, async function () {
    // 1. Three products from the seeded catalogue, once inventory has opened their stock.
    const { body: page } = await asAdmin<{ items: Product[] }>(
      `${url('catalog')}/products?limit=3`,
      {
        expect: 200,
      },
    );
    const products = page.items;
    assert.equal(products.length, 3);
    const initial = new Map<string, Stock>();
    for (const product of products) {
      const stock = await eventually(
        `stock of ${product.sku}`,
        async () => {
          const { status, body } = await asAdmin<Stock>(`${url('inventory')}/stock/${product.sku}`);
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
          await asAdmin(`${url('cart')}/carts/${userId}/lines/${product.sku}`, {
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
        const { body, headers } = await asAdmin<{ orderId: string; status: string }>(
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
              (await asAdmin<Order>(`${url('orders')}/orders/${id}`, { expect: 200 })).body,
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
            const { body } = await asAdmin<{ status: string }>(
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
      const { body: after } = await asAdmin<Stock>(`${url('inventory')}/stock/${product.sku}`, {
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
        const { body } = await asAdmin<{ items: { orderId: string; eventType: string }[] }>(
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

  /** Every document of the services' databases, by database and collection, sorted by `_id`. */
  const snapshot = async (): Promise<Record<string, unknown[]>> => {
    const client = new MongoClient(mongo.url);
    try {
      const out: Record<string, unknown[]> = {};
      for (const db of ['orders', 'payments', 'shipping', 'inventory', 'notifications']) {
        for (const { name } of await client
          .db(db)
          .listCollections({}, { nameOnly: true })
          .toArray()) {
          const docs = await client.db(db).collection(name).find({}).toArray();
          out[`${db}.${name}`] = docs
            .map((doc) => JSON.parse(JSON.stringify(doc)) as { _id: unknown })
            .sort((a, b) => (JSON.stringify(a._id) < JSON.stringify(b._id) ? -1 : 1));
        }
      }
      return out;
    } finally {
      await client.close();
    }
  };

  /** Places one order for a fresh shopper and waits for its final state. */
  const orderToTheEnd = async (): Promise<Order> => {
    const userId = `saga-more-${randomUUID().slice(0, 8)}`;
    const { body: page } = await asAdmin<{ items: Product[] }>(
      `${url('catalog')}/products?limit=1`,
      {
        expect: 200,
      },
    );
    const sku = page.items[0]?.sku ?? '';
    await asAdmin(`${url('cart')}/carts/${userId}/lines/${sku}`, {
      method: 'PUT',
      body: JSON.stringify({ quantity: 1 }),
      expect: 200,
    });
    const { body } = await asAdmin<{ orderId: string }>(`${url('orders')}/orders`, {
      method: 'POST',
      body: JSON.stringify({ userId }),
      expect: 202,
    });
    return eventually(
      `order ${body.orderId} final`,
      async () => {
        const { body: order } = await asAdmin<Order>(`${url('orders')}/orders/${body.orderId}`, {
          expect: 200,
        });
        return order.status === 'SHIPPED' || order.status === 'CANCELLED' ? order : undefined;
      },
      60_000,
    );
  };

  /** The topics a consumer group reads: those carrying an event type it subscribes to. */
  const topicsOf = (group: string): string[] =>
    TOPICS.filter((t) => t.events.some((e) => SUBSCRIPTIONS[group]?.includes(e.type))).map(
      (t) => t.name,
    );

  const withAdmin = async <T>(work: (admin: Admin) => Promise<T>): Promise<T> => {
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  };

  it("poison on every topic (not JSON, an unknown type, data failing its type) goes to each consuming group's DLQ with its reason, and the groups keep going", async function () {
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const poison = new Map<string, string[]>();
    try {
      for (const topic of TOPICS) {
        // A real event of the topic (the saga just produced them) under a type it does not
        // carry: its data passes the topic's schema, so only the type can refuse it.
        const [sample] = await readAll(topic.name, 1);
        const real: unknown = JSON.parse(sample?.value ?? 'null');
        const envelope = (id: string, type: string, data: unknown) =>
          encodeCloudEvent({
            specversion: '1.0',
            id,
            source: '/emporium/poison',
            type,
            time: new Date().toISOString(),
            datacontenttype: 'application/json',
            partitionkey: `poison-${topic.name}`,
            data,
          });
        const ids = [`poison-unknown-${topic.name}`, `poison-invalid-${topic.name}`];
        poison.set(topic.name, ids);
        await producer.send({
          topic: topic.name,
          messages: [
            { key: `poison-${topic.name}`, value: Buffer.from('{ not json at all') },
            envelope(ids[0] ?? '', `com.emporium.poison.Unheard${String(topic.version)}`, real),
            envelope(ids[1] ?? '', topic.events[0]?.type ?? '', { orderId: 'o-poison' }),
          ],
        });
      }
    } finally {
      await producer.disconnect();
    }
    const groups = Object.keys(SUBSCRIPTIONS);
    for (const group of groups) {
      const expected = topicsOf(group);
      assert.ok(expected.length > 0, `${group} consumes something`);
      const dead = await eventually(
        `${group}'s DLQ holds the poison of ${expected.join(', ')}`,
        async () => {
          const records = await readAll(`${group}.dlq`);
          return records.length >= expected.length * 3 ? records : undefined;
        },
        60_000,
      );
      assert.equal(dead.length, expected.length * 3, `${group}: only the poison is dead`);
      for (const topic of expected) {
        const fromTopic = dead.filter((r) => r.headers[DLQ_HEADERS.originalTopic] === topic);
        assert.equal(fromTopic.length, 3, `${group}: 3 poison records of ${topic}`);
        for (const record of fromTopic) {
          assert.equal(record.headers[DLQ_HEADERS.reason], 'invalid', JSON.stringify(record));
          assert.ok(record.headers[DLQ_HEADERS.error], 'the error is in the headers');
          assert.equal(record.headers[DLQ_HEADERS.consumerGroup], group);
        }
        const ids = fromTopic.map((r) => r.headers.ce_id).filter(Boolean);
        assert.deepEqual(ids.sort(), [...(poison.get(topic) ?? [])].sort());
      }
    }
    // Past the poison, every group still works: a new order goes all the way.
    await orderToTheEnd();
  });

  it('replaying every topic from offset 0 into fresh consumer groups changes nothing', async function () {
    const before = await snapshot();
    const suffix = `replay-${randomUUID().slice(0, 8)}`;
    const consumers = Object.keys(SUBSCRIPTIONS);
    // A second copy of every consumer, each in a new group: they read every topic from its start.
    const replay = await startServices({
      infra: { kafkaBrokers: kafka.brokers, mongoUrl: mongo.url, redisUrl: redis.url },
      only: ['orders', 'payments', 'shipping', 'notifications', 'inventory'],
      env: Object.fromEntries(
        consumers.map((group) => [
          group,
          {
            KAFKA_GROUP_ID: `${group}-${suffix}`,
            ...(group === 'payments' ? { PSP_DECLINE_RATE: DECLINE_RATE } : {}),
            ...(group === 'inventory' ? { INVENTORY_INITIAL_STOCK: '1000' } : {}),
          },
        ]),
      ),
    });
    try {
      await eventually(
        'every replay group at the end of its topics',
        () =>
          withAdmin(async (admin) => {
            for (const group of consumers) {
              for (const topic of topicsOf(group)) {
                const ends = await admin.fetchTopicOffsets(topic);
                const [committed] = await admin.fetchOffsets({
                  groupId: `${group}-${suffix}`,
                  topics: [topic],
                });
                for (const { partition, high } of ends) {
                  const at = committed?.partitions.find((p) => p.partition === partition)?.offset;
                  if (at !== high) return undefined;
                }
              }
            }
            return true;
          }),
        120_000,
      );
    } finally {
      await replay.stop();
    }
    const after = await snapshot();
    for (const [collection, docs] of Object.entries(before)) {
      assert.deepEqual(after[collection], docs, `${collection} changed by the replay`);
    }
    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  });

  /** The records of a topic (all, or the first `limit`) with headers and value as strings. */
  const readAll = (
    topic: string,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<{ headers: Record<string, string>; value: string }[]> =>
    withAdmin(async (admin) => {
      const ends = await admin.fetchTopicOffsets(topic);
      const stored = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      const total = Math.min(stored, limit);
      if (total === 0) return [];
      const consumer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
        groupId: `reader-${randomUUID()}`,
      });
      await consumer.connect();
      const records: { headers: Record<string, string>; value: string }[] = [];
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve) => {
          void consumer.run({
            eachMessage: ({ message }) => {
              const headers: Record<string, string> = {};
              for (const [name, value] of Object.entries(message.headers ?? {})) {
                const first = Array.isArray(value) ? value[0] : value;
                if (first !== undefined) headers[name] = first.toString();
              }
              records.push({ headers, value: message.value?.toString() ?? '' });
              if (records.length >= total) resolve();
              return Promise.resolve();
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return records;
    });
});
