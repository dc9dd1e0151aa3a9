import { trace } from '@opentelemetry/api';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
} from 'prom-client';

/**
 * One service's Prometheus metrics. The registry speaks OpenMetrics so histogram exemplars
 * (the trace id of a sampled observation) reach Prometheus; metrics are created once by name
 * and shared, so two modules asking for the same histogram get the same one.
 */
export interface Metrics {
  readonly registry: Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>;
  histogram<L extends string>(config: HistogramConfiguration<L>): Histogram<L>;
  /** A counter; name it as exposed, with its `_total` suffix (e.g. `orders_placed_total`). */
  counter<L extends string>(config: CounterConfiguration<L>): Counter<L>;
  gauge<L extends string>(config: GaugeConfiguration<L>): Gauge<L>;
  /** The exposition text of one metric by its exposed name (counters with `_total`). */
  text(name: string): Promise<string>;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Added as the `service` label of every metric (e.g. `orders`). */
  service: string;
  /** Node runtime metrics (event loop lag, heap, GC); on unless a test wants a bare registry. */
  runtimeMetrics?: boolean;
}

/** Latency buckets in seconds, from 5 ms to 10 s: the OpenTelemetry HTTP semconv advice. */
export const LATENCY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Creates a service's registry, with Node runtime metrics unless switched off. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  registry.setDefaultLabels({ service: options.service });
  if (options.runtimeMetrics ?? true) collectDefaultMetrics({ register: registry });

  const getOrCreate = <M extends Metric>(name: string, create: () => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? create();

  return {
    registry,
    histogram: (config) =>
      getOrCreate(
        config.name,
        () => new Histogram({ ...config, registers: [registry], enableExemplars: true }),
      ),
    counter: (config) => {
      // The OpenMetrics exposition appends `_total` to counters itself; strip it here so the
      // name in code is the name on /metrics and in dashboards (not `x_total_total`).
      const name = config.name.replace(/_total$/, '');
      return getOrCreate(name, () => new Counter({ ...config, name, registers: [registry] }));
    },
    gauge: (config) =>
      getOrCreate(config.name, () => new Gauge({ ...config, registers: [registry] })),
    text: (name) =>
      registry.getSingleMetricAsString(
        registry.getSingleMetric(name) ? name : name.replace(/_total$/, ''),
      ),
  };
}

/** Exemplar labels of the active span (trace_id, span_id) when it is sampled, else empty. */
export function traceExemplar(): Record<string, string> {
  const context = trace.getActiveSpan()?.spanContext();
  // Bit 0 of the trace flags is "sampled"; an unsampled trace is not in the tracing backend.
  if (!context || (context.traceFlags & 1) === 0) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
