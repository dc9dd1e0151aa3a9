import type { Metrics } from '@emporium/platform';
import type { StockRepository } from './repositories/stock.repository.js';

/** Outcomes of `POST /reservations`, the `outcome` label of `inventory_reservations_total`. */
export type ReservationOutcome =
  'reserved' | 'replayed' | 'mismatch' | 'insufficient_stock' | 'in_progress';

/** The part of a prom-client counter inventory uses (prom-client is the platform's dependency). */
export interface LabelledCounter<L extends string> {
  inc(labels: Record<L, string>, value?: number): void;
}

/** Inventory's business metrics; every label has a handful of values (no skus, no ids). */
export interface InventoryMetrics {
  /** `inventory_reservations_total{outcome}`. */
  reservations: LabelledCounter<'outcome'>;
  /**
   * `inventory_reservations_settled_total{status}`: RELEASED (cancelled), COMMITTED (shipped), or
   * SHORT (shipped after its reservation expired, with its units gone to other orders).
   */
  settled: LabelledCounter<'status'>;
  /** `inventory_stock_records_opened_total`: skus first heard of from catalog. */
  stockOpened: { inc(value?: number): void };
  /** `inventory_reservations_confirmed_total{outcome}`: OrderPlaced seen (see ConfirmOutcome). */
  confirmed: LabelledCounter<'outcome'>;
  /** `inventory_reservations_expired_total`: reservations the sweeper gave back, each once. */
  expired: { inc(value?: number): void };
  /** `inventory_reservation_sweeps_total{outcome=ok|failed}`: sweeper rounds. */
  sweeps: LabelledCounter<'outcome'>;
}

/**
 * Creates (once per registry) the counters and the `inventory_stock_units{state}` gauge, which
 * sums the stock collection at scrape time so every replica reports the shared truth.
 */
export function inventoryMetrics(metrics: Metrics, stock: StockRepository): InventoryMetrics {
  metrics.gauge<'state'>({
    name: 'inventory_stock_units',
    help: 'Units over all skus by state: available, reserved (held for open orders), committed (shipped).',
    labelNames: ['state'],
    async collect() {
      try {
        const totals = await stock.totals();
        this.set({ state: 'available' }, totals.available);
        this.set({ state: 'reserved' }, totals.reserved);
        this.set({ state: 'committed' }, totals.committed);
      } catch {
        // A scrape while MongoDB is down keeps the last values; /readyz reports the outage.
      }
    },
  });
  return {
    reservations: metrics.counter<'outcome'>({
      name: 'inventory_reservations_total',
      help: 'Reservation requests by outcome.',
      labelNames: ['outcome'],
    }),
    settled: metrics.counter<'status'>({
      name: 'inventory_reservations_settled_total',
      help: 'Reservations released (order cancelled), committed (order shipped), or short (shipped after expiring, its units gone to other orders).',
      labelNames: ['status'],
    }),
    stockOpened: metrics.counter({
      name: 'inventory_stock_records_opened_total',
      help: 'Stock records opened for skus first heard of from catalog.',
    }),
    confirmed: metrics.counter<'outcome'>({
      name: 'inventory_reservations_confirmed_total',
      help: 'OrderPlaced events by what they did to the reservation: confirmed, reinstated (after an expiry) or lost (expired and no stock left).',
      labelNames: ['outcome'],
    }),
    expired: metrics.counter({
      name: 'inventory_reservations_expired_total',
      help: 'Reservations released by the expiry sweeper because their order never arrived.',
    }),
    sweeps: metrics.counter<'outcome'>({
      name: 'inventory_reservation_sweeps_total',
      help: 'Expiry sweeper rounds by outcome (ok, failed).',
      labelNames: ['outcome'],
    }),
  };
}
