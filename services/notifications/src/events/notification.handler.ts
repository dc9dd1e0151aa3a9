import type { EventHandler, Metrics } from '@emporium/platform';
import { notificationFor } from '../domain/notification.js';
import type { NotificationsRepository } from '../repositories/notifications.repository.js';

/**
 * Notifications' handler for every topic it consumes (orders.v1, payments.v1, shipments.v1):
 * stores one notification per event and customer; a redelivered event adds nothing.
 */
export function notificationHandler<T>(
  notifications: NotificationsRepository,
  metrics: Metrics,
): EventHandler<T> {
  const sent = metrics.counter({
    name: 'notifications_sent_total',
    help: 'Customer notifications recorded, by the event type that caused them.',
    labelNames: ['event_type'] as const,
  });
  return async (event, context) => {
    const notification = notificationFor(event);
    if (!notification) {
      // A type added to a topic later: nothing to tell the customer, and nothing to retry.
      context.logger.debug({ type: event.type }, 'event not notified');
      return;
    }
    const created = await notifications.add(notification);
    if (created) sent.inc({ event_type: notification.eventType });
    context.logger.info(
      { orderId: notification.orderId, eventType: notification.eventType, created },
      created ? 'notification recorded' : 'notification already recorded',
    );
  };
}
