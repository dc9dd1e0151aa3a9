import { randomUUID } from 'node:crypto';
import {
  OrderCancelled,
  OrderPlaced,
  PaymentAuthorized,
  PaymentDeclined,
  ShipmentDispatched,
} from '@emporium/contracts';
import type { CloudEvent } from '@emporium/platform';

/** The events customers are told about, by their short contract name. */
export const NOTIFIED_EVENT_TYPES = [
  OrderPlaced.name,
  OrderCancelled.name,
  PaymentAuthorized.name,
  PaymentDeclined.name,
  ShipmentDispatched.name,
] as const;

/** One message to one customer about one event. */
export interface Notification {
  notificationId: string;
  userId: string;
  orderId: string;
  /** The CloudEvents id of the event; with userId, what makes a redelivery a duplicate. */
  eventId: string;
  /** The event's short name, e.g. `OrderPlaced` (bounded, so also a metric label). */
  eventType: string;
  message: string;
  /** When the event happened, so a customer's list reads in the order things occurred. */
  createdAt: string;
}

/**
 * An amount in minor units as a customer reads it (`€25.00`, `$12.50`, `¥500`): the currency's own
 * number of decimals, from Intl, so JPY is not divided by 100.
 */
export function formatMoney(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

/** What an event tells its customer, or null for an event nobody is told about. */
function describe(
  event: CloudEvent<unknown>,
): Pick<Notification, 'userId' | 'orderId' | 'eventType' | 'message'> | null {
  if (OrderPlaced.is(event)) {
    const { orderId, userId, totalMinor, currency } = event.data;
    const total = formatMoney(totalMinor, currency);
    const message = `Your order ${orderId} for ${total} was placed.`;
    return { userId, orderId, eventType: OrderPlaced.name, message };
  }
  if (OrderCancelled.is(event)) {
    const { orderId, userId, reason } = event.data;
    const message = `Your order ${orderId} was cancelled: ${reason}.`;
    return { userId, orderId, eventType: OrderCancelled.name, message };
  }
  if (PaymentAuthorized.is(event)) {
    const { orderId, userId, amountMinor, currency } = event.data;
    const amount = formatMoney(amountMinor, currency);
    const message = `Payment of ${amount} for order ${orderId} was authorised.`;
    return { userId, orderId, eventType: PaymentAuthorized.name, message };
  }
  if (PaymentDeclined.is(event)) {
    const { orderId, userId, reason } = event.data;
    const message = `Payment declined: ${reason}. Order ${orderId} was not charged.`;
    return { userId, orderId, eventType: PaymentDeclined.name, message };
  }
  if (ShipmentDispatched.is(event)) {
    const { orderId, userId, carrier, trackingId } = event.data;
    const message = `Your order ${orderId} shipped with ${carrier}, tracking ${trackingId}.`;
    return { userId, orderId, eventType: ShipmentDispatched.name, message };
  }
  return null;
}

/** The notification an event gives its customer, or null when the event is not notified. */
export function notificationFor(event: CloudEvent<unknown>): Notification | null {
  const described = describe(event);
  if (!described) return null;
  const time = new Date(event.time);
  return {
    notificationId: randomUUID(),
    ...described,
    eventId: event.id,
    // Emporium always writes `time`; a malformed one must not break the list's order.
    createdAt: (Number.isNaN(time.getTime()) ? new Date() : time).toISOString(),
  };
}
