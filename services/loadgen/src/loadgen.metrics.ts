import { LATENCY_BUCKETS_SECONDS, type Metrics } from '@emporium/platform';
import type { JourneyOutcome } from './domain/journey.js';
import type { Outcome, Step } from './domain/outcome.js';

/** Loadgen's own metrics (labels bounded: fixed steps and outcomes, never users or ids). */
export interface LoadgenMetrics {
  requests: { inc(labels: { step: Step; outcome: Outcome }): void };
  /** The registry's histograms keep exemplars, so they take the object form of observe(). */
  duration: { observe(sample: { labels: { step: Step }; value: number }): void };
  journeys: { inc(labels: { outcome: JourneyOutcome }): void };
  ordersPlaced: { inc(): void };
  dropped: { inc(value?: number): void };
  inFlight: { set(value: number): void };
}

/** Registers loadgen's metrics on the service's registry. */
export function loadgenMetrics(metrics: Metrics): LoadgenMetrics {
  return {
    requests: metrics.counter({
      name: 'loadgen_requests_total',
      help: 'Requests sent to the gateway, by step and outcome (ok, business, rate_limited, error).',
      labelNames: ['step', 'outcome'],
    }),
    duration: metrics.histogram({
      name: 'loadgen_request_duration_seconds',
      help: 'Time from sending a request to the end of its answer (or its failure), by step.',
      labelNames: ['step'],
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    journeys: metrics.counter({
      name: 'loadgen_journeys_total',
      help: 'Shopper visits by how they ended: ordered, abandoned, rejected, rate_limited, failed.',
      labelNames: ['outcome'],
    }),
    ordersPlaced: metrics.counter({
      name: 'loadgen_orders_placed_total',
      help: 'Orders the gateway accepted (202).',
    }),
    dropped: metrics.counter({
      name: 'loadgen_dropped_total',
      help: 'Arrivals not sent because the concurrency limit was reached.',
    }),
    inFlight: metrics.gauge({
      name: 'loadgen_in_flight',
      help: 'Requests sent and not answered yet.',
    }),
  };
}
