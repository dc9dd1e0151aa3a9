import type { Metrics } from '@emporium/platform';

/** Cart's business counters (labels bounded: currencies and fixed reasons, never ids). */
export interface CartMetrics {
  linesAdded: { inc(labels: { currency: string }): void };
  linesUpdated: { inc(labels: { currency: string }): void };
  linesRemoved: { inc(): void };
  cartsCleared: { inc(): void };
  lineRejections: {
    inc(labels: { reason: 'unknown_sku' | 'currency_mismatch' | 'cart_full' }): void;
  };
}

/** Registers cart's counters on the service's metrics registry. */
export function cartMetrics(metrics: Metrics): CartMetrics {
  return {
    linesAdded: metrics.counter({
      name: 'cart_lines_added_total',
      help: 'Products put into a cart that did not hold them yet, by the catalog currency.',
      labelNames: ['currency'],
    }),
    linesUpdated: metrics.counter({
      name: 'cart_lines_updated_total',
      help: 'Quantity changes (and re-pricings) of products a cart already held.',
      labelNames: ['currency'],
    }),
    linesRemoved: metrics.counter({
      name: 'cart_lines_removed_total',
      help: 'Products taken out of a cart.',
    }),
    cartsCleared: metrics.counter({
      name: 'carts_cleared_total',
      help: 'Carts deleted as a whole (emptied by the customer or after an order).',
    }),
    lineRejections: metrics.counter({
      name: 'cart_line_rejections_total',
      help: 'Refused cart lines, by reason: unknown_sku, currency_mismatch, cart_full.',
      labelNames: ['reason'],
    }),
  };
}
