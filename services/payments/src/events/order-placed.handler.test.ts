import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  OrderCancelled,
  OrderPlaced,
  ordersTopic,
  PaymentAuthorized,
  PaymentDeclined,
  paymentsTopic,
} from '@emporium/contracts';
import { eventually } from '@emporium/harness';
import {
  startEventsFixture,
  type EventsFixture,
  type EventWatcher,
} from '@emporium/platform/testing';
import { pino } from 'pino';
import { simulatedDecision, startPayment } from '../domain/payment.js';
import { simulatedPspGateway, type PspGateway } from '../gateways/psp.gateway.js';
import {
  paymentsRepository,
  type PaymentsRepository,
} from '../repositories/payments.repository.js';
import { ordersHandler } from './order-placed.handler.js';

const DECLINE_RATE = 0.5;

/** A fresh order id the simulated provider approves (or declines). */
function orderIdThat(approved: boolean): string {
  for (;;) {
    const id = `o-${randomUUID()}`;
    if (simulatedDecision(id, DECLINE_RATE).approved === approved) return id;
  }
}

describe('payments events', () => {
  let fx: EventsFixture;
  let payments: PaymentsRepository;
  /** What other services see: PaymentAuthorized / PaymentDeclined on payments.v1. */
  let published: EventWatcher;
  /** Every authorisation asked of the provider: the order and the idempotency key sent. */
  const asked: { orderId: string; key: string }[] = [];
  const simulated = simulatedPspGateway({ latencyMs: 5, declineRate: DECLINE_RATE });
  const psp: PspGateway = {
    authorize: (request, key) => {
      asked.push({ orderId: request.orderId, key });
      return simulated.authorize(request, key);
    },
  };

  before(async () => {
    fx = await startEventsFixture({
      service: 'payments',
      consumes: [ordersTopic],
      produces: [paymentsTopic],
      source: '/emporium/orders',
    });
    payments = paymentsRepository(fx.db);
    await payments.ensureIndexes();
    fx.relay({ collections: payments.collection });
    await fx.consume((runner) => runner.on(ordersTopic, ordersHandler(payments, psp, fx.metrics)));
    published = await fx.watch(paymentsTopic);
  });

  after(() => fx.stop());

  const placed = (orderId: string) => ({
    orderId,
    userId: 'u-1',
    lines: [{ sku: 'MUG-CER-350', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
    totalMinor: 2500,
    currency: 'EUR',
    placedAt: new Date().toISOString(),
  });

  it('authorises a placed order once and publishes PaymentAuthorized, even when redelivered', async () => {
    const orderId = orderIdThat(true);
    const event = { id: randomUUID(), type: OrderPlaced.type, key: orderId, data: placed(orderId) };
    await fx.producer.publish(ordersTopic, event);
    await fx.producer.publish(ordersTopic, event); // a redelivery with the same event id
    const seen = await published.waitFor('PaymentAuthorized', (p) => p.data.orderId === orderId);
    assert.equal(seen.event.type, PaymentAuthorized.type);
    const stored = await payments.findByOrderId(orderId);
    assert.equal(stored?.status, 'AUTHORIZED');
    assert.equal(stored.amountMinor, 2500);
    await eventually('the outbox drained', async () => {
      const doc = await payments.collection.findOne({ _id: orderId });
      return doc?.outboxPending === 0 ? true : undefined;
    });
    // Stored under its natural key, once, although the event came twice.
    const doc = await payments.collection.findOne({ _id: orderId });
    assert.equal(doc?.orderId, orderId);
    assert.equal(doc.paymentId, stored.paymentId);
    assert.equal(await payments.collection.countDocuments({ orderId }), 1);
    assert.equal(published.filter((p) => p.data.orderId === orderId).length, 1);
    assert.match(
      await fx.metrics.text('payments_total'),
      /payments_total\{[^}]*status="AUTHORIZED"/,
    );
  });

  it("resumes a payment left PENDING by a crash with the same id, the provider's idempotency key", async () => {
    const orderId = orderIdThat(true);
    // As a crash leaves it: PENDING stored, the provider asked (and maybe charged), no outcome.
    const first = await payments.claim(
      startPayment({ orderId, userId: 'u-1', amountMinor: 2500, currency: 'EUR' }, new Date()),
    );
    await psp.authorize(first, first.paymentId);
    await fx.producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: orderId,
      data: placed(orderId),
    });
    await published.waitFor('PaymentAuthorized', (p) => p.data.orderId === orderId);
    const stored = await payments.findByOrderId(orderId);
    assert.equal(stored?.paymentId, first.paymentId);
    const keys = asked.filter((a) => a.orderId === orderId).map((a) => a.key);
    assert.deepEqual(keys, [first.paymentId, first.paymentId]);
  });

  it('two members handling the same order at once ask with one key and settle it once', async () => {
    const orderId = orderIdThat(true);
    const handle = ordersHandler(payments, psp, fx.metrics);
    const event = {
      specversion: '1.0',
      id: randomUUID(),
      source: '/emporium/orders',
      type: OrderPlaced.type,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      subject: orderId,
      data: placed(orderId),
    } as const;
    const context = {
      topic: ordersTopic.name,
      partition: 0,
      offset: '0',
      attempt: 1,
      headers: {},
      logger: pino({ level: 'silent' }),
    };
    // A rebalance hands the same record to two members: both run before either has written.
    await Promise.all([handle(event, context), handle(event, context)]);
    const keys = new Set(asked.filter((a) => a.orderId === orderId).map((a) => a.key));
    assert.equal(keys.size, 1, 'one idempotency key for the order');
    await published.waitFor('PaymentAuthorized', (p) => p.data.orderId === orderId);
    await eventually('the outbox drained', async () => {
      const doc = await payments.collection.findOne({ _id: orderId });
      return doc?.outboxPending === 0 ? true : undefined;
    });
    assert.equal(published.filter((p) => p.data.orderId === orderId).length, 1);
    assert.equal((await payments.findByOrderId(orderId))?.paymentId, [...keys][0]);
  });

  it('declines deterministically with a reason and publishes PaymentDeclined', async () => {
    const orderId = orderIdThat(false);
    const expected = simulatedDecision(orderId, DECLINE_RATE);
    assert.equal(expected.approved, false);
    await fx.producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: orderId,
      data: placed(orderId),
    });
    const seen = await published.waitFor('PaymentDeclined', (p) => p.data.orderId === orderId);
    assert.equal(seen.event.type, PaymentDeclined.type);
    assert.equal(seen.data.reason, expected.reason);
    const stored = await payments.findByOrderId(orderId);
    assert.equal(stored?.status, 'DECLINED');
    assert.equal(stored.reason, expected.reason);
    assert.match(
      await fx.metrics.text('payments_amount_minor_total'),
      /payments_amount_minor_total\{[^}]*currency="EUR"[^}]*status="DECLINED"[^}]*\} 2500/,
    );
  });

  it('ignores cancelled orders', async () => {
    const cancelledOrder = orderIdThat(true);
    await fx.producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: cancelledOrder,
      data: {
        orderId: cancelledOrder,
        userId: 'u-1',
        reason: 'payment declined',
        lines: [{ sku: 'MUG-CER-350', quantity: 1 }],
        cancelledAt: new Date().toISOString(),
      },
    });
    // A placed order published after it (same key, same partition) proves it was consumed.
    const later = orderIdThat(true);
    await fx.producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: cancelledOrder,
      data: placed(later),
    });
    await eventually(
      'the later payment',
      async () => (await payments.findByOrderId(later)) ?? undefined,
    );
    assert.equal(await payments.findByOrderId(cancelledOrder), null);
  });
});
