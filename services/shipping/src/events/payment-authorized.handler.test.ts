import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  PaymentAuthorized,
  PaymentDeclined,
  paymentsTopic,
  shipmentsTopic,
} from '@emporium/contracts';
import { eventually } from '@emporium/harness';
import {
  startEventsFixture,
  type EventsFixture,
  type EventWatcher,
} from '@emporium/platform/testing';
import {
  shipmentsRepository,
  type ShipmentsRepository,
} from '../repositories/shipments.repository.js';
import { paymentsHandler } from './payment-authorized.handler.js';

describe('shipping events', () => {
  let fx: EventsFixture;
  let shipments: ShipmentsRepository;
  /** What other services see: ShipmentDispatched on shipments.v1. */
  let dispatched: EventWatcher;

  before(async () => {
    fx = await startEventsFixture({
      service: 'shipping',
      consumes: [paymentsTopic],
      produces: [shipmentsTopic],
      source: '/emporium/payments',
    });
    shipments = shipmentsRepository(fx.db);
    await shipments.ensureIndexes();
    fx.relay({ collections: shipments.collection });
    await fx.consume((runner) =>
      runner.on(paymentsTopic, paymentsHandler(shipments, 'EMPORIUM-POST')),
    );
    dispatched = await fx.watch(shipmentsTopic);
  });

  after(() => fx.stop());

  const authorized = (orderId: string) => ({
    paymentId: `p-${orderId}`,
    orderId,
    userId: 'u-1',
    amountMinor: 2500,
    currency: 'EUR',
    authorizedAt: new Date().toISOString(),
  });

  it('ships an authorised order once and publishes ShipmentDispatched, even when redelivered', async () => {
    const orderId = `o-${randomUUID()}`;
    const id = randomUUID();
    const event = { id, type: PaymentAuthorized.type, key: orderId, data: authorized(orderId) };
    await fx.producer.publish(paymentsTopic, event);
    await fx.producer.publish(paymentsTopic, event); // a redelivery with the same event id
    const published = await dispatched.waitFor(
      'ShipmentDispatched',
      (d) => d.data.orderId === orderId,
    );
    const stored = await shipments.findByOrderId(orderId);
    assert.equal(stored?.trackingId, published.data.trackingId);
    await eventually('the outbox drained', async () => {
      const doc = await shipments.collection.findOne({ _id: orderId });
      return doc?.outboxPending === 0 ? true : undefined;
    });
    // Stored under its natural key, once, although the event came twice.
    const doc = await shipments.collection.findOne({ _id: orderId });
    assert.equal(doc?.orderId, orderId);
    assert.equal(doc.shipmentId, stored?.shipmentId);
    assert.equal(await shipments.collection.countDocuments({ orderId }), 1);
    assert.equal(dispatched.filter((d) => d.data.orderId === orderId).length, 1);
  });

  it('ignores declined payments', async () => {
    const declinedOrder = `o-${randomUUID()}`;
    await fx.producer.publish(paymentsTopic, {
      type: PaymentDeclined.type,
      key: declinedOrder,
      data: {
        ...authorized(declinedOrder),
        reason: 'insufficient funds',
        declinedAt: new Date().toISOString(),
      },
    });
    // An authorised order published after it proves the declined one was consumed first.
    const later = `o-${randomUUID()}`;
    await fx.producer.publish(paymentsTopic, {
      type: PaymentAuthorized.type,
      key: later,
      data: authorized(later),
    });
    await eventually(
      'the later shipment',
      async () => (await shipments.findByOrderId(later)) ?? undefined,
    );
    assert.equal(await shipments.findByOrderId(declinedOrder), null);
  });
});
