import type { ordersTopic } from '@emporium/contracts';
import { OrderCancelled } from '@emporium/contracts';
import type { EventHandler, TopicData } from '@emporium/platform';
import type { InventoryMetrics } from '../inventory.metrics.js';
import type { ReservationsRepository } from '../repositories/reservations.repository.js';

/** Inventory's handler of `orders.v1`: a cancelled order's reserved units go back, once. */
export function ordersHandler(
  reservations: ReservationsRepository,
  metrics: InventoryMetrics,
): EventHandler<TopicData<typeof ordersTopic>> {
  return async (event, context) => {
    // orders.v1 also carries OrderPlaced, whose stock was reserved before it was published.
    if (!OrderCancelled.is(event)) return;
    const { orderId } = event.data;
    const outcome = await reservations.release(orderId);
    // Throwing makes the runner retry, then dead-letter: the event is never silently dropped.
    if (outcome === 'pending') throw new Error(`reservation of ${orderId} is still in progress`);
    if (outcome === 'settled') metrics.settled.inc({ status: 'RELEASED' });
    const level = outcome === 'unknown' || outcome === 'conflict' ? 'warn' : 'info';
    context.logger[level]({ orderId, outcome }, 'order cancelled: reservation released');
  };
}
