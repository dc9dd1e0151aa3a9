import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  OrderCancelled,
  OrderPlaced,
  ordersTopic,
  PaymentAuthorized,
  PaymentDeclined,
  paymentsTopic,
  ShipmentDispatched,
  shipmentsTopic,
} from '@emporium/contracts';
import { eventually, freePort, serviceMain } from '@emporium/harness';
import { DLQ_HEADERS } from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import {
  startEventsFixture,
  type EventsFixture,
  type EventWatcher,
} from '@emporium/platform/testing';
import { newOrder, type Order } from '../domain/order.js';
import { orderMetrics } from '../order-metrics.js';
import { ordersRepository, type OrdersRepository } from '../repositories/orders.repository.js';
import { paymentsHandler, shipmentsHandler } from './saga.handler.js';

describe('orders saga events', () => {
  let fx: EventsFixture;
  /** The identity providers main.ts is told to trust (it needs them to start). */
  let issuer: TokenIssuer;
  let orders: OrdersRepository;
  /** What other services see on orders.v1, and what orders dead-lettered. */
  let published: EventWatcher;
  let deadLettered: EventWatcher;

  before(async () => {
    fx = await startEventsFixture({
      service: 'orders',
      consumes: [paymentsTopic, shipmentsTopic],
      produces: [ordersTopic],
    });
    orders = ordersRepository(fx.db);
    await orders.ensureIndexes();
    fx.relay({ collections: orders.collection, mutex: orders.mutex, isLeader: () => true });
    const saga = { orders, metrics: orderMetrics(fx.metrics) };
    const runner = await fx.consume(
      (r) => r.on(paymentsTopic, paymentsHandler(saga)).on(shipmentsTopic, shipmentsHandler(saga)),
      // Short, so the contradictory event below reaches the DLQ quickly.
      { maxAttempts: 3, backoff: { initialMs: 50, maxMs: 200 } },
    );
    published = await fx.watch(ordersTopic);
    deadLettered = await fx.watch(runner.deadLetterTopic);
  });

  before(async () => {
    issuer = await startTokenIssuer();
  });
  after(() => Promise.all([fx.stop(), issuer.stop()]));

  /** A stored PENDING order, as POST /orders leaves it. */
  const placed = async (): Promise<string> => {
    const orderId = `o-${randomUUID()}`;
    await orders.create(
      newOrder(
        {
          orderId,
          userId: 'u-1',
          lines: [{ sku: 'MUG-CER-350', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
          totalMinor: 2500,
          currency: 'EUR',
        },
        new Date(),
      ),
    );
    return orderId;
  };
  const payment = (orderId: string) => ({
    paymentId: `p-${orderId}`,
    orderId,
    userId: 'u-1',
    amountMinor: 2500,
    currency: 'EUR',
  });
  const authorized = (orderId: string) => ({
    id: randomUUID(),
    type: PaymentAuthorized.type,
    key: orderId,
    data: { ...payment(orderId), authorizedAt: new Date().toISOString() },
  });
  const declined = (orderId: string) => ({
    id: randomUUID(),
    type: PaymentDeclined.type,
    key: orderId,
    data: {
      ...payment(orderId),
      reason: 'card declined',
      declinedAt: new Date().toISOString(),
    },
  });
  const dispatched = (orderId: string) => ({
    id: randomUUID(),
    type: ShipmentDispatched.type,
    key: orderId,
    data: {
      shipmentId: `s-${orderId}`,
      orderId,
      userId: 'u-1',
      carrier: 'EMPORIUM-POST',
      trackingId: 'EMP7Q2K9XW4M1PZ',
      dispatchedAt: new Date().toISOString(),
    },
  });
  const statusOf = (orderId: string, status: Order['status']) => async () => {
    const order = await orders.findById(orderId);
    return order?.status === status ? order : undefined;
  };
  const drained = (orderId: string) => async () => {
    const doc = await orders.collection.findOne({ _id: orderId });
    return doc?.outboxPending === 0 ? true : undefined;
  };

  it('relays OrderPlaced from the outbox to orders.v1 with the outbox event id', async () => {
    const orderId = await placed();
    const event = await published.waitFor(
      'OrderPlaced on orders.v1',
      (e) => e.key === orderId && e.event.type === OrderPlaced.type,
    );
    assert.equal(event.data.totalMinor, 2500);
    await eventually('the outbox drained', drained(orderId));
    // Published events leave the document, so it does not grow with every state change.
    const stored = await orders.collection.findOne({ _id: orderId });
    assert.deepEqual(stored?.outbox, []);
  });

  it('PaymentAuthorized then ShipmentDispatched: PAID then SHIPPED, redeliveries harmless', async () => {
    const orderId = await placed();
    const paid = authorized(orderId);
    await fx.producer.publish(paymentsTopic, paid);
    await fx.producer.publish(paymentsTopic, paid); // a redelivery, same event id
    await eventually('PAID', statusOf(orderId, 'PAID'));
    const shipment = dispatched(orderId);
    await fx.producer.publish(shipmentsTopic, shipment);
    await fx.producer.publish(shipmentsTopic, shipment);
    // A later PaymentAuthorized redelivery after shipping is still a no-op.
    await fx.producer.publish(paymentsTopic, paid);
    const shipped = await eventually('SHIPPED', statusOf(orderId, 'SHIPPED'));
    assert.equal(shipped.trackingId, 'EMP7Q2K9XW4M1PZ');
    // Let the redeliveries be consumed, proven by a later event on each topic being applied.
    const probe = await placed();
    await fx.producer.publish(paymentsTopic, authorized(probe));
    await eventually('probe PAID', statusOf(probe, 'PAID'));
    await fx.producer.publish(shipmentsTopic, dispatched(probe));
    await eventually('probe SHIPPED', statusOf(probe, 'SHIPPED'));
    const order = await orders.findById(orderId);
    assert.deepEqual(
      order?.history.map((h) => h.status),
      ['PENDING', 'PAID', 'SHIPPED'],
    );
    const text = await fx.metrics.registry.metrics();
    assert.match(text, /^orders_revenue_minor_total\{currency="EUR",service="orders"\} 5000$/m);
    // Each order reaching SHIPPED is timed once, redeliveries or not: as many observations as
    // moves to SHIPPED, and at least the two of this test.
    const sum = (pattern: RegExp): number =>
      [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
    const timed = sum(
      /^orders_completion_duration_seconds_count\{[^}]*status="SHIPPED"[^}]*\} (\d+)$/gm,
    );
    const moves = sum(/^order_transitions_total\{[^}]*to="SHIPPED"[^}]*\} (\d+)$/gm);
    assert.ok(timed >= 2, text);
    assert.equal(timed, moves);
  });

  it('PaymentDeclined cancels once and OrderCancelled with the lines reaches orders.v1', async () => {
    const orderId = await placed();
    const event = declined(orderId);
    await fx.producer.publish(paymentsTopic, event);
    await fx.producer.publish(paymentsTopic, event);
    const cancelled = await eventually('CANCELLED', statusOf(orderId, 'CANCELLED'));
    assert.equal(cancelled.cancelReason, 'card declined');
    const published1 = await published.waitFor(
      'OrderCancelled on orders.v1',
      (e) => e.key === orderId && e.event.type === OrderCancelled.type,
    );
    assert.deepEqual(published1.data.lines, [{ sku: 'MUG-CER-350', quantity: 2 }]);
    assert.equal(published1.data.reason, 'card declined');
    await eventually('the outbox drained', drained(orderId));
    const stored = await orders.collection.findOne({ _id: orderId });
    assert.deepEqual(stored?.outbox, [], 'both events published and removed');
    assert.equal(
      published.filter((e) => e.key === orderId && e.event.type === OrderCancelled.type).length,
      1,
    );
  });

  it('a ShipmentDispatched that overtakes its payment is parked and applied with it', async () => {
    const orderId = await placed();
    await fx.producer.publish(shipmentsTopic, dispatched(orderId));
    await eventually('the shipment parked', async () => {
      const doc = await orders.collection.findOne({ _id: orderId });
      return doc?.parkedShipment ? doc : undefined;
    });
    assert.equal((await orders.findById(orderId))?.status, 'PENDING');
    await fx.producer.publish(paymentsTopic, authorized(orderId));
    const shipped = await eventually('SHIPPED', statusOf(orderId, 'SHIPPED'));
    assert.equal(shipped.trackingId, 'EMP7Q2K9XW4M1PZ');
    assert.deepEqual(
      shipped.history.map((h) => h.status),
      ['PENDING', 'PAID', 'SHIPPED'],
    );
    const doc = await orders.collection.findOne({ _id: orderId });
    assert.equal(doc?.parkedShipment, undefined);
  });

  it('a contradictory event is retried and then dead-lettered, never dropped silently', async () => {
    const orderId = await placed();
    await fx.producer.publish(paymentsTopic, declined(orderId));
    await eventually('CANCELLED', statusOf(orderId, 'CANCELLED'));
    const contradiction = authorized(orderId);
    await fx.producer.publish(paymentsTopic, contradiction);
    const dead = await deadLettered.waitFor(
      'the event in orders.dlq',
      (e) => e.event.id === contradiction.id,
    );
    assert.equal(dead.headers[DLQ_HEADERS.attempts], '3');
    assert.match(dead.headers[DLQ_HEADERS.error] ?? '', /SagaEventError: .*CANCELLED/);
    assert.equal((await orders.findById(orderId))?.status, 'CANCELLED');
  });

  it('main.ts starts with the documented variables, logs once when listening, exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, serviceMain('orders').args, {
      env: {
        PATH: process.env.PATH,
        ...issuer.env,
        OTEL_SERVICE_NAME: 'orders',
        TELEMETRY_ENABLED: 'false',
        PORT: String(await freePort()),
        KAFKA_BROKERS: fx.kafkaServer.brokers.join(','),
        MONGO_URL: fx.mongoServer.url,
        MONGO_DATABASE: 'orders_main_test',
        UPSTREAM_CART_URL: 'http://127.0.0.1:1',
        UPSTREAM_CATALOG_URL: 'http://127.0.0.1:1',
        UPSTREAM_INVENTORY_URL: 'http://127.0.0.1:1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await eventually(
      'orders listening',
      () => Promise.resolve(stdout.includes('"orders listening"') ? true : undefined),
      60_000,
    ).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`${String(error)}\n${stdout}\n${stderr}`);
    });
    assert.equal(stdout.split('"orders listening"').length - 1, 1);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stdout + stderr);
  });
});
