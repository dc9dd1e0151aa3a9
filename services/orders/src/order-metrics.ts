import type { Metrics } from '@emporium/platform';
import { canTransition, ORDER_STATUSES, type Order, type Transition } from './domain/order.js';

/** Orders' business metrics (the funnel and revenue dashboards read these). */
export interface OrderMetrics {
  /** An order was accepted (202). */
  placed(order: Order): void;
  /** A placement was refused or failed, by stable error code. */
  rejected(code: string): void;
  /** An order changed status; a move to PAID also counts its total as revenue. */
  transitioned(order: Order, transitions: readonly Transition[]): void;
}

/** Creates (or reuses, by name) orders' counters in the service's registry. */
export function orderMetrics(metrics: Metrics): OrderMetrics {
  const placed = metrics.counter({
    name: 'orders_placed_total',
    help: 'Orders accepted as PENDING, by currency.',
    labelNames: ['currency'] as const,
  });
  const rejected = metrics.counter({
    name: 'orders_rejected_total',
    help: 'Order placements refused or failed, by error code (CART_EMPTY, OUT_OF_STOCK, …).',
    labelNames: ['code'] as const,
  });
  const transitions = metrics.counter({
    name: 'order_transitions_total',
    help: 'Order status changes applied by the saga, by from and to status.',
    labelNames: ['from', 'to'] as const,
  });
  const revenue = metrics.counter({
    name: 'orders_revenue_minor_total',
    help: 'Sum of the totals of orders that reached PAID, in minor units, by currency.',
    labelNames: ['currency'] as const,
  });
  // Zero series up front, so rate() and the funnel panels have data before the first order.
  for (const from of ORDER_STATUSES) {
    for (const to of ORDER_STATUSES) {
      if (canTransition(from, to)) transitions.inc({ from, to }, 0);
    }
  }
  return {
    placed: (order) => {
      placed.inc({ currency: order.currency });
    },
    rejected: (code) => {
      rejected.inc({ code });
    },
    transitioned: (order, moves) => {
      for (const { from, to } of moves) {
        transitions.inc({ from, to });
        if (to === 'PAID') revenue.inc({ currency: order.currency }, order.totalMinor);
      }
    },
  };
}
