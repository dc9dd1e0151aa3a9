import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  repoRoot,
  runNodeScript,
  startMongo,
  type MongoServer,
  type ScriptRun,
} from '@emporium/harness';
import { MongoClient, ObjectId, type Document } from 'mongodb';

/** Runs `npm run seed -- <args>` the way npm would (tsx over scripts/src/seed.ts). */
function runSeed(args: string[]): Promise<ScriptRun> {
  const file = join(repoRoot(), 'scripts', 'src', 'seed.ts');
  return runNodeScript(file, { HOME: process.env.HOME ?? '' }, args);
}

const ORDER = '0b5a6a3e-4f6e-4a36-9c1f-1d3a5e7b9c01';
const OTHER_ORDER = '7d2c9e10-3b4a-4c5d-8e6f-a1b2c3d4e5f6';
const PAYMENT = 'c3f1e2d4-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const PLACED_EVENT = 'e1e2e3e4-0000-4000-8000-000000000001';
const PAID_EVENT = 'e1e2e3e4-0000-4000-8000-000000000002';
const PRODUCT = '9f8e7d6c-5b4a-4321-8fed-cba987654321';
const CREATED = '2026-11-30T12:00:00.000Z';
const SHIPPED = '2026-11-30T12:00:01.500Z';
const AUTHORIZED = new Date('2026-11-30T12:00:00.700Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

describe('npm run seed', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  const eventObjectId = new ObjectId();

  /** The documents of one collection, by `_id` order. */
  const all = (db: string, collection: string): Promise<Document[]> =>
    client.db(db).collection(collection).find({}).toArray();

  before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
    // A hand-made order spread over two databases, as orders and payments would store it:
    // string `_id`s that are the order id, an ObjectId `_id`, ids nested and inside strings.
    await client
      .db('orders')
      .collection('orders')
      .insertMany([
        {
          _id: ORDER as unknown as ObjectId,
          userId: 'alice',
          status: 'SHIPPED',
          lines: [{ sku: 'MUG-1', quantity: 1 }],
          createdAt: CREATED,
          history: [
            { status: 'PENDING', at: CREATED },
            { status: 'SHIPPED', at: SHIPPED },
          ],
          outbox: [{ id: PLACED_EVENT, subject: `orders/${ORDER}`, sentAt: AUTHORIZED }],
        },
        // Someone else's order: no part of the template.
        { _id: OTHER_ORDER as unknown as ObjectId, userId: 'bob', status: 'PENDING' },
      ]);
    await client
      .db('payments')
      .collection('payments')
      .insertOne({
        _id: ORDER as unknown as ObjectId,
        orderId: ORDER,
        paymentId: PAYMENT,
        authorizedAt: AUTHORIZED,
      });
    await client
      .db('payments')
      .collection('events')
      .insertOne({
        _id: eventObjectId,
        eventId: PAID_EVENT,
        orderId: ORDER,
        ref: { payment: PAYMENT },
      });
    // Not per order: a product (no order id) and a stock level that lists the order.
    await client
      .db('catalog')
      .collection('products')
      .insertOne({ _id: 'MUG-1' as unknown as ObjectId, productId: PRODUCT, name: 'Mug' });
    await client
      .db('payments')
      .collection('stock')
      .insertOne({ _id: 'MUG-1' as unknown as ObjectId, reservedBy: [ORDER] });
  });

  after(async () => {
    await client.close();
    await mongo.stop();
  });

  it('refuses a run without --orders, in one line and a usage', async () => {
    const run = await runSeed(['--mongo', 'mongodb://127.0.0.1:1/']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^seed: --orders is required\nusage: npm run seed/);
  });

  it('clones every document of the order N times, each with fresh, consistent ids', async () => {
    const run = await runSeed([
      '--mongo',
      mongo.url,
      '--from',
      ORDER,
      '--orders',
      '25',
      '--batch',
      '10',
      '--age',
      '30d',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^seeded 25 orders \(75 documents\) cloned from 0b5a6a3e-\S+ in [\d.]+ s: \d+ orders\/s/,
    );
    assert.match(
      run.stderr,
      /order 0b5a6a3e-\S+: 3 documents in orders\.orders, payments\.events, payments\.payments/,
    );
    assert.match(run.stderr, /left alone: payments\.stock "MUG-1" mentions the order/);

    const orders = await all('orders', 'orders');
    const payments = await all('payments', 'payments');
    const events = await all('payments', 'events');
    assert.equal(orders.length, 2 + 25);
    assert.equal(payments.length, 1 + 25);
    assert.equal(events.length, 1 + 25);

    const clones = orders.filter((o) => o._id !== ORDER && o._id !== OTHER_ORDER);
    const ids = clones.map((o) => String(o._id));
    assert.equal(new Set(ids).size, 25, 'every clone has its own _id');
    const paymentIds = new Set<string>();
    const eventIds = new Set<string>();
    for (const order of clones) {
      const id = String(order._id);
      assert.match(id, UUID);
      const outbox = (order.outbox as { id: string; subject: string; sentAt: Date }[])[0];
      assert.ok(outbox);
      assert.notEqual(outbox.id, PLACED_EVENT);
      assert.equal(outbox.subject, `orders/${id}`, 'a UUID inside a string follows the clone');
      eventIds.add(outbox.id);

      // The same order id in the other database, and the payment id shared by two documents.
      const payment = payments.find((p) => p._id === id);
      assert.ok(payment, `a payment for ${id}`);
      assert.equal(payment.orderId, id);
      assert.notEqual(payment.paymentId, PAYMENT);
      paymentIds.add(String(payment.paymentId));
      const matching = events.filter((e) => e.orderId === id);
      assert.equal(matching.length, 1);
      const event = matching[0];
      assert.ok(event?._id instanceof ObjectId);
      assert.ok(!event._id.equals(eventObjectId), 'an ObjectId _id gets a fresh one');
      assert.equal((event.ref as { payment: string }).payment, payment.paymentId);
      assert.notEqual(event.eventId, PAID_EVENT);
      eventIds.add(String(event.eventId));

      // Times moved back by one amount per clone, up to 30 days, so each history still holds.
      const created = Date.parse(String(order.createdAt));
      const shift = Date.parse(CREATED) - created;
      assert.ok(shift >= 0 && shift < 30 * DAY_MS, `shifted ${String(shift)} ms`);
      const history = order.history as { at: string }[];
      assert.equal(Date.parse(history[1]?.at ?? '') - created, 1500);
      assert.equal(AUTHORIZED.getTime() - (payment.authorizedAt as Date).getTime(), shift);
    }
    assert.equal(paymentIds.size, 25);
    assert.equal(eventIds.size, 50);
    assert.equal(new Set(events.map((e) => String(e._id))).size, 26);

    // The template, the other order and the documents that are not per order are untouched.
    assert.equal(orders.find((o) => o._id === ORDER)?.createdAt, CREATED);
    assert.deepEqual(
      orders.find((o) => o._id === OTHER_ORDER),
      {
        _id: OTHER_ORDER,
        userId: 'bob',
        status: 'PENDING',
      },
    );
    assert.deepEqual(await all('catalog', 'products'), [
      { _id: 'MUG-1', productId: PRODUCT, name: 'Mug' },
    ]);
    assert.deepEqual(await all('payments', 'stock'), [{ _id: 'MUG-1', reservedBy: [ORDER] }]);
  });

  it('adds more on a second run', async () => {
    const run = await runSeed(['--mongo', mongo.url, '--from', ORDER, '--orders', '5']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await all('orders', 'orders')).length, 2 + 25 + 5);
    assert.equal((await all('payments', 'events')).length, 1 + 25 + 5);
  });
});
