import { z } from 'zod';
import { eventTopic, eventType } from '../event-type.js';
import { AmountMinor, Currency, Id, OrderLine, Sku, Timestamp } from './common.js';

/** An order was accepted with its stock reserved; payment comes next. */
export const OrderPlaced = eventType(
  'orders',
  'OrderPlaced',
  'An order was accepted and its stock reserved; payment comes next.',
  z.object({
    orderId: Id,
    userId: Id,
    lines: z.array(OrderLine).min(1).max(100),
    totalMinor: AmountMinor,
    currency: Currency,
    placedAt: Timestamp,
  }),
);

/** An order was cancelled (payment declined); its reserved stock goes back. */
export const OrderCancelled = eventType(
  'orders',
  'OrderCancelled',
  'An order was cancelled; its reserved stock is released.',
  z.object({
    orderId: Id,
    userId: Id,
    reason: z.string().min(1).max(200),
    lines: z.array(z.object({ sku: Sku, quantity: z.number().int().min(1) })).min(1),
    cancelledAt: Timestamp,
  }),
);

/** `orders.v1`: the order saga's events, keyed by order id. */
export const ordersTopic = eventTopic('orders.v1', {
  summary: 'Order lifecycle events published by orders through its outbox.',
  producer: 'orders',
  events: [OrderPlaced, OrderCancelled],
});
