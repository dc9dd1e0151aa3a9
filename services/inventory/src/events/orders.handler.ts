import type { ordersTopic } from '@emporium/contracts';
import { OrderCancelled, OrderPlaced } from '@emporium/contracts';
import { RetryLaterError, type EventHandler, type TopicData } from '@emporium/platform';
import type { InventoryMetrics } from '../inventory.metrics.js';
import type { ReservationsRepository } from '../repositories/reservations.repository.js';

/**
 * Inventory's handler of `orders.v1`. OrderPlaced confirms the order's reservation: the order is
 * stored (the event leaves through the order's own outbox), so its units no longer expire.
 * OrderCancelled gives a cancelled order's reserved units back, once.
 */
export function ordersHandler(
  reservations: ReservationsRepository,
  metrics: InventoryMetrics,
): EventHandler<TopicData<typeof ordersTopic>> {
  return async (event, context) => {
    if (OrderPlaced.is(event)) {
      const { orderId } = event.data;
      const outcome = await reservations.confirm(orderId);
      // Another request is still reserving (or the sweeper will expire its abandoned attempt):
      // the runner retries for as long as that lasts, never dead-letters it.
      if (outcome === 'pending')
        throw new RetryLaterError(`reservation of ${orderId} is still in progress`);
      if (outcome === 'confirmed' || outcome === 'reinstated' || outcome === 'lost') {
        metrics.confirmed.inc({ outcome });
      }
      // `lost`: the order outlived RESERVATION_TTL_MS before its OrderPlaced arrived and its units
      // went to other orders; nothing here can hold them again, so an operator must know.
      const level = outcome === 'lost' ? 'error' : outcome === 'unknown' ? 'warn' : 'info';
      context.logger[level]({ orderId, outcome }, 'order placed: reservation confirmed');
      return;
    }
    if (!OrderCancelled.is(event)) return;
    const { orderId } = event.data;
    const outcome = await reservations.release(orderId);
    // Another request is still reserving (or the sweeper will expire its abandoned attempt):
    // the runner retries for as long as that lasts, never dead-letters it.
    if (outcome === 'pending')
      throw new RetryLaterError(`reservation of ${orderId} is still in progress`);
    if (outcome === 'settled') metrics.settled.inc({ status: 'RELEASED' });
    const level = outcome === 'unknown' || outcome === 'conflict' ? 'warn' : 'info';
    context.logger[level]({ orderId, outcome }, 'order cancelled: reservation released');
  };
}
