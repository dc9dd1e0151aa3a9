import { setTimeout as sleep } from 'node:timers/promises';
import {
  PaymentAuthorized,
  PaymentDeclined,
  ShipmentDispatched,
  type paymentsTopic,
  type shipmentsTopic,
} from '@emporium/contracts';
import {
  RetryLaterError,
  type EventHandler,
  type Logger,
  type TopicData,
} from '@emporium/platform';
import { decide, type Decision, type OrderEvent } from '../domain/order.js';
import type { OrderMetrics } from '../order-metrics.js';
import type { OrdersRepository } from '../repositories/orders.repository.js';

/** What the saga handlers need. */
export interface SagaDeps {
  orders: OrdersRepository;
  metrics: OrderMetrics;
  now?: () => Date;
}

/**
 * An event that cannot be applied (unknown order, contradictory state). Thrown, so the consumer
 * runner retries it with backoff and then dead-letters it: never dropped silently.
 */
export class SagaEventError extends Error {
  override readonly name = 'SagaEventError';
}

/** Writes one event may lose (races, lost updates) before the runner's retry takes over. */
const MAX_ROUNDS = 6;
/** How long to wait for the relay to finish with an order before writing it, in total. */
const RELAY_WAIT_MS = 3000;
/** How often to look whether the relay has finished with the order. */
const RELAY_POLL_MS = 50;

/**
 * Applies one saga event to its order: read, decide (pure), store if the version is unchanged,
 * and repeat until the decision is a no-op. The repeat is the confirmation: a concurrent change
 * (the other topic's handler, another replica) makes the versioned write miss, and the event is
 * then decided again against the order as it now is.
 *
 * A change also waits while the outbox relay still has events of the order to publish: FerretDB
 * 1.24 applies two concurrent updateOne calls on one document as last-writer-wins (both report
 * a match), so the relay marking OrderPlaced sent could silently undo a status change. Once its
 * events are sent the relay never writes the order again until a new event is appended.
 */
async function applyEvent(
  deps: SagaDeps,
  orderId: string,
  event: OrderEvent,
  logger: Logger,
): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const relayDeadline = Date.now() + RELAY_WAIT_MS;
  let applied: Extract<Decision, { kind: 'change' }> | undefined;
  for (let round = 1; round <= MAX_ROUNDS;) {
    const found = await deps.orders.findForUpdate(orderId);
    if (!found) throw new SagaEventError(`Order ${orderId} does not exist.`);
    const { order, relaying } = found;
    const decision = decide(order, event, now());
    if (decision.kind === 'illegal') {
      throw new SagaEventError(`Order ${orderId} is ${order.status}: ${decision.reason}.`);
    }
    if (decision.kind === 'noop') {
      if (applied === undefined) {
        // A redelivery, or an event already superseded: success, so it is committed.
        logger.info(
          { orderId, status: order.status, why: decision.reason },
          'event already applied',
        );
        return;
      }
      // Counted once the order is seen to hold the change, so a lost write is not counted.
      deps.metrics.transitioned(applied.next, applied.transitions);
      logger.info(
        {
          orderId,
          status: order.status,
          transitions: applied.transitions.map(({ from, to }) => `${from}->${to}`),
        },
        applied.transitions.length === 0 ? 'shipment parked until payment' : 'order status changed',
      );
      return;
    }
    if (relaying) {
      // Throwing after the wait hands the event to the runner's retries with backoff.
      if (Date.now() >= relayDeadline) {
        throw new RetryLaterError(`Order ${orderId} still has unsent outbox events.`);
      }
      await sleep(RELAY_POLL_MS);
      continue;
    }
    round += 1;
    if (await deps.orders.save(order, decision.next)) applied = decision;
  }
  throw new RetryLaterError(`Order ${orderId} kept changing under the event.`);
}

/** Orders' handler of `payments.v1`: PaymentAuthorized → PAID, PaymentDeclined → CANCELLED. */
export function paymentsHandler(deps: SagaDeps): EventHandler<TopicData<typeof paymentsTopic>> {
  return async (event, context) => {
    if (PaymentAuthorized.is(event)) {
      const { orderId, authorizedAt } = event.data;
      await applyEvent(
        deps,
        orderId,
        { kind: 'payment-authorized', at: authorizedAt },
        context.logger,
      );
      return;
    }
    if (PaymentDeclined.is(event)) {
      const { orderId, declinedAt, reason } = event.data;
      await applyEvent(
        deps,
        orderId,
        { kind: 'payment-declined', at: declinedAt, reason },
        context.logger,
      );
      return;
    }
    // The topic schema already validated the data; an unknown type is a contract bug.
    throw new SagaEventError(`Unexpected event type ${event.type} on payments.v1.`);
  };
}

/** Orders' handler of `shipments.v1`: ShipmentDispatched → SHIPPED with the tracking id. */
export function shipmentsHandler(deps: SagaDeps): EventHandler<TopicData<typeof shipmentsTopic>> {
  return async (event, context) => {
    const { type } = event;
    if (!ShipmentDispatched.is(event)) {
      throw new SagaEventError(`Unexpected event type ${type} on shipments.v1.`);
    }
    const { orderId, shipmentId, carrier, trackingId, dispatchedAt } = event.data;
    await applyEvent(
      deps,
      orderId,
      { kind: 'shipment-dispatched', shipmentId, carrier, trackingId, dispatchedAt },
      context.logger,
    );
  };
}
