import assert from 'node:assert/strict';
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
import { eventually } from '@emporium/harness';
import { startEventsFixture, type EventsFixture } from '@emporium/platform/testing';
import {
  notificationKey,
  notificationsRepository,
  type NotificationsRepository,
} from '../repositories/notifications.repository.js';
import { notificationHandler } from './notification.handler.js';

describe('notifications events', () => {
  let fx: EventsFixture;
  let notifications: NotificationsRepository;

  before(async () => {
    fx = await startEventsFixture({
      service: 'notifications',
      consumes: [ordersTopic, paymentsTopic, shipmentsTopic],
    });
    notifications = notificationsRepository(fx.db);
    await notifications.ensureIndexes();
    await fx.consume((runner) =>
      runner
        .on(ordersTopic, notificationHandler(notifications, fx.metrics))
        .on(paymentsTopic, notificationHandler(notifications, fx.metrics))
        .on(shipmentsTopic, notificationHandler(notifications, fx.metrics)),
    );
  });

  after(() => fx.stop());

  const messages = async (userId: string): Promise<string[]> =>
    (await notifications.listByUser(userId)).map((n) => `${n.eventType}: ${n.message}`);

  it('records one notification per step of an order, in the order they happened', async () => {
    const userId = `u-${randomUUID()}`;
    const orderId = 'o-123';
    const payment = { paymentId: 'p-1', orderId, userId, amountMinor: 2500, currency: 'EUR' };
    const time = (second: number) => new Date(Date.UTC(2026, 10, 27, 10, 0, second)).toISOString();
    // Published across three topics; consumed in whatever order their partitions deliver.
    await fx.producer.publish(shipmentsTopic, {
      type: ShipmentDispatched.type,
      key: orderId,
      time: time(3),
      data: {
        shipmentId: 's-1',
        orderId,
        userId,
        carrier: 'EMPORIUM-POST',
        trackingId: 'EMP7Q2K9XW4M1PZ',
        dispatchedAt: time(3),
      },
    });
    await fx.producer.publish(paymentsTopic, {
      type: PaymentAuthorized.type,
      key: orderId,
      time: time(2),
      data: { ...payment, authorizedAt: time(2) },
    });
    await fx.producer.publish(ordersTopic, {
      type: OrderPlaced.type,
      key: orderId,
      time: time(1),
      data: {
        orderId,
        userId,
        lines: [{ sku: 'MUG-CER-350', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
        totalMinor: 2500,
        currency: 'EUR',
        placedAt: time(1),
      },
    });
    await eventually('three notifications', async () =>
      (await notifications.listByUser(userId)).length === 3 ? true : undefined,
    );
    assert.deepEqual(await messages(userId), [
      'OrderPlaced: Your order o-123 for €25.00 was placed.',
      'PaymentAuthorized: Payment of €25.00 for order o-123 was authorised.',
      'ShipmentDispatched: Your order o-123 shipped with EMPORIUM-POST, tracking EMP7Q2K9XW4M1PZ.',
    ]);
    assert.match(
      await fx.metrics.text('notifications_sent_total'),
      /notifications_sent_total\{[^}]*event_type="ShipmentDispatched"[^}]*\} 1/,
    );
  });

  it('a redelivered event adds nothing', async () => {
    const userId = `u-${randomUUID()}`;
    const orderId = `o-${randomUUID()}`;
    const declined = {
      id: randomUUID(),
      type: PaymentDeclined.type,
      key: orderId,
      data: {
        paymentId: 'p-2',
        orderId,
        userId,
        amountMinor: 900,
        currency: 'USD',
        reason: 'insufficient funds',
        declinedAt: new Date().toISOString(),
      },
    };
    await fx.producer.publish(paymentsTopic, declined);
    await fx.producer.publish(paymentsTopic, declined); // a redelivery with the same event id
    // An event published after them on the same key (same partition) proves both were consumed.
    await fx.producer.publish(paymentsTopic, { ...declined, id: randomUUID() });
    await eventually('two distinct notifications', async () =>
      (await notifications.listByUser(userId)).length >= 2 ? true : undefined,
    );
    await fx.producer.publish(ordersTopic, {
      type: OrderCancelled.type,
      key: orderId,
      data: {
        orderId,
        userId,
        reason: 'payment declined',
        lines: [{ sku: 'MUG-CER-350', quantity: 1 }],
        cancelledAt: new Date().toISOString(),
      },
    });
    await eventually('the cancellation', async () =>
      (await notifications.listByUser(userId)).length >= 3 ? true : undefined,
    );
    const list = await notifications.listByUser(userId);
    assert.equal(list.length, 3);
    assert.equal(list.filter((n) => n.eventId === declined.id).length, 1);
    // Stored under its natural key, once, although the event came twice.
    const doc = await notifications.collection.findOne({
      _id: notificationKey(userId, declined.id),
    });
    assert.equal(doc?.eventId, declined.id);
    assert.equal(await notifications.collection.countDocuments({ eventId: declined.id }), 1);
    assert.equal(
      list[0]?.message,
      `Payment declined: insufficient funds. Order ${orderId} was not charged.`,
    );
  });
});
