import { traceExemplar, type Metrics } from '@emporium/platform';
import {
  canTransition,
  ORDER_STATUSES,
  type Order,
  type OrderStatus,
  type Transition,
} from './domain/order.js';
import { OrdersErrorCode } from './errors.js';

/** The refusals a shopper can cause (the others are failures, counted when they happen). */
const BUSINESS_REFUSALS = [
  OrdersErrorCode.CART_EMPTY,
  OrdersErrorCode.CART_TOO_LARGE,
  OrdersErrorCode.UNKNOWN_SKU,
  OrdersErrorCode.MIXED_CURRENCIES,
  OrdersErrorCode.OUT_OF_STOCK,
] as const;

/** Where an order's saga ends; reaching one stops the order's completion clock. */
const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['SHIPPED', 'CANCELLED']);

/** Orders' business metrics (the funnel and revenue dashboards read these). */
export interface OrderMetrics {
  /** An order was accepted (202). */
  placed(order: Order): void;
  /** A placement was refused or failed, by stable error code. */
  rejected(code: string): void;
  /**
   * An order changed status; a move to PAID also counts its total as revenue, a move to a
   * final status observes the time since placement.
   */
  transitioned(order: Order, transitions: readonly Transition[]): void;
}

/** Creates (or reuses, by name) orders' counters in the service's registry. */
export function orderMetrics(metrics: Metrics, now: () => Date = () => new Date()): OrderMetrics {
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
  const completion = metrics.histogram({
    name: 'orders_completion_duration_seconds',
    help: 'Time from placement to a final status (SHIPPED or CANCELLED), in seconds: the order SLO wants 99 % within 60 s.',
    labelNames: ['status'] as const,
    // Around the 60 s objective, so its bucket edge is exact.
    buckets: [0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600],
  });
  // Zero series up front, so rate() and the funnel panels have data before the first order
  // (and the refusals panel shows 0, not "no data", while nobody is refused).
  for (const code of BUSINESS_REFUSALS) rejected.inc({ code }, 0);
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
        if (FINAL_STATUSES.has(to)) {
          const seconds = Math.max(0, (now().getTime() - Date.parse(order.createdAt)) / 1000);
          completion.observe({
            labels: { status: to },
            value: seconds,
            exemplarLabels: traceExemplar(),
          });
        }
      }
    },
  };
}
