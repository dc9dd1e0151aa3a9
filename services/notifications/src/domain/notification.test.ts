import assert from 'node:assert/strict';
import {
  OrderCancelled,
  OrderPlaced,
  PaymentAuthorized,
  PaymentDeclined,
  ShipmentDispatched,
} from '@emporium/contracts';
import type { CloudEvent } from '@emporium/platform';
import { formatMoney, NOTIFIED_EVENT_TYPES, notificationFor } from './notification.js';

const at = '2026-11-27T10:00:00.000Z';

function event(type: string, data: unknown, id = 'e-1'): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id,
    source: '/emporium/test',
    type,
    time: at,
    datacontenttype: 'application/json',
    data,
  };
}

const payment = {
  paymentId: 'p-1',
  orderId: 'o-123',
  userId: 'u-1',
  amountMinor: 2500,
  currency: 'EUR',
};

describe('notification', () => {
  it('formats money in the currency’s own minor units', () => {
    assert.equal(formatMoney(2500, 'EUR'), '€25.00');
    assert.equal(formatMoney(1250, 'USD'), '$12.50');
    assert.equal(formatMoney(500, 'JPY'), '¥500');
    assert.equal(formatMoney(0, 'GBP'), '£0.00');
  });

  it('tells the customer about each step of the order', () => {
    const cases: [CloudEvent<unknown>, string, string][] = [
      [
        event(OrderPlaced.type, {
          orderId: 'o-123',
          userId: 'u-1',
          lines: [{ sku: 'MUG-CER-350', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
          totalMinor: 2500,
          currency: 'EUR',
          placedAt: at,
        }),
        'OrderPlaced',
        'Your order o-123 for €25.00 was placed.',
      ],
      [
        event(PaymentAuthorized.type, { ...payment, authorizedAt: at }),
        'PaymentAuthorized',
        'Payment of €25.00 for order o-123 was authorised.',
      ],
      [
        event(PaymentDeclined.type, { ...payment, reason: 'insufficient funds', declinedAt: at }),
        'PaymentDeclined',
        'Payment declined: insufficient funds. Order o-123 was not charged.',
      ],
      [
        event(OrderCancelled.type, {
          orderId: 'o-123',
          userId: 'u-1',
          reason: 'payment declined',
          lines: [{ sku: 'MUG-CER-350', quantity: 2 }],
          cancelledAt: at,
        }),
        'OrderCancelled',
        'Your order o-123 was cancelled: payment declined.',
      ],
      [
        event(ShipmentDispatched.type, {
          shipmentId: 's-1',
          orderId: 'o-123',
          userId: 'u-1',
          carrier: 'EMPORIUM-POST',
          trackingId: 'EMP7Q2K9XW4M1PZ',
          dispatchedAt: at,
        }),
        'ShipmentDispatched',
        'Your order o-123 shipped with EMPORIUM-POST, tracking EMP7Q2K9XW4M1PZ.',
      ],
    ];
    for (const [input, eventType, message] of cases) {
      const notification = notificationFor(input);
      assert.ok(notification, eventType);
      assert.match(notification.notificationId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(
        { ...notification, notificationId: 'n' },
        {
          notificationId: 'n',
          userId: 'u-1',
          orderId: 'o-123',
          eventId: 'e-1',
          eventType,
          message,
          createdAt: at,
        },
      );
    }
    assert.deepEqual(
      cases.map(([, eventType]) => eventType).sort(),
      [...NOTIFIED_EVENT_TYPES].sort(),
    );
  });

  it('notifies nothing for unknown types or data that does not match the type', () => {
    assert.equal(notificationFor(event('com.emporium.orders.OrderArchived', payment)), null);
    assert.equal(notificationFor(event(PaymentAuthorized.type, { orderId: 'o-1' })), null);
  });

  it('dates a notification by when its event happened, now when the time is malformed', () => {
    const placed = event(PaymentAuthorized.type, { ...payment, authorizedAt: at });
    assert.equal(notificationFor({ ...placed, time: '2026-11-27T11:00:00+01:00' })?.createdAt, at);
    const broken = notificationFor({ ...placed, time: 'yesterday' });
    assert.ok(broken && Math.abs(Date.parse(broken.createdAt) - Date.now()) < 5000);
  });
});
