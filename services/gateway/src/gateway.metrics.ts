import { tokensRefusedCounter, type Metrics } from '@emporium/platform';
import type { TokenRefusal } from './errors.js';

/** Why the gateway turned a request away. */
export type RejectionReason = 'unauthenticated' | 'forbidden' | 'rate_limited';

/** The buckets: per user, per client IP, and per client IP for browser-span exports. */
export type RateLimitScope = 'user' | 'ip' | 'traces';

/** The gateway's own counters (labels bounded: fixed reasons and scopes, never ids or IPs). */
export interface GatewayMetrics {
  rejected: { inc(labels: { reason: RejectionReason }): void };
  rateLimitErrors: { inc(labels: { scope: RateLimitScope }): void };
  /** `auth_tokens_refused_total{reason}`, as on every service: tokens that failed verification. */
  tokensRefused: { inc(labels: { reason: TokenRefusal }): void };
  productPagesDegraded: { inc(): void };
  /** Browser span exports (POST /otlp/v1/traces), by outcome: forwarded, failed. */
  browserSpanExports: { inc(labels: { outcome: 'forwarded' | 'failed' }): void };
}

/** Registers the gateway's counters on the service's metrics registry. */
export function gatewayMetrics(metrics: Metrics): GatewayMetrics {
  return {
    rejected: metrics.counter({
      name: 'gateway_requests_rejected_total',
      help: 'Requests refused at the edge, by reason: unauthenticated, forbidden, rate_limited.',
      labelNames: ['reason'],
    }),
    tokensRefused: tokensRefusedCounter(metrics),
    rateLimitErrors: metrics.counter({
      name: 'gateway_rate_limit_errors_total',
      help: 'Rate-limit checks that failed (Redis down) and let the request through, by scope: user, ip, traces.',
      labelNames: ['scope'],
    }),
    productPagesDegraded: metrics.counter({
      name: 'gateway_product_pages_degraded_total',
      help: 'Product pages served without stock because inventory was unavailable.',
    }),
    browserSpanExports: metrics.counter({
      name: 'gateway_browser_span_exports_total',
      help: 'Batches of browser spans passed on to the collector, by outcome: forwarded, failed.',
      labelNames: ['outcome'],
    }),
  };
}
