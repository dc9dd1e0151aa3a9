import type { shipmentsTopic } from '@emporium/contracts';
import { ShipmentDispatched } from '@emporium/contracts';
import { RetryLaterError, type EventHandler, type TopicData } from '@emporium/platform';
import type { InventoryMetrics } from '../inventory.metrics.js';
import type { ReservationsRepository } from '../repositories/reservations.repository.js';

/** Inventory's handler of `shipments.v1`: a shipped order's reserved units are committed, once. */
export function shipmentsHandler(
  reservations: ReservationsRepository,
  metrics: InventoryMetrics,
): EventHandler<TopicData<typeof shipmentsTopic>> {
  return async (event, context) => {
    if (!ShipmentDispatched.is(event)) return;
    const { orderId } = event.data;
    const outcome = await reservations.commit(orderId);
    // Another request is still reserving (or the sweeper will expire its abandoned attempt):
    // the runner retries for as long as that lasts, never dead-letters it.
    if (outcome === 'pending')
      throw new RetryLaterError(`reservation of ${orderId} is still in progress`);
    if (outcome === 'settled') metrics.settled.inc({ status: 'COMMITTED' });
    // `short`: the order shipped after its reservation expired and its units went to other
    // orders; the books hold fewer units than the warehouse shipped, so an operator must know.
    if (outcome === 'short') metrics.settled.inc({ status: 'SHORT' });
    const level =
      outcome === 'short'
        ? 'error'
        : outcome === 'unknown' || outcome === 'conflict'
          ? 'warn'
          : 'info';
    context.logger[level]({ orderId, outcome }, 'shipment dispatched: reservation committed');
  };
}
