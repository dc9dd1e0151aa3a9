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
  /**
   * The whole registry for a scraper, in the format its `Accept` header asks for: OpenMetrics
   * (with exemplars) when it names `application/openmetrics-text`, as Prometheus does, else the
   * Prometheus text format 0.0.4 that every other client (curl, promtool) reads.
   */
  exposition(accept: string | undefined): Promise<{ contentType: string; body: string }>;
}

/** Whether an `Accept` header asks for OpenMetrics (any version, any non-zero q). */
export function acceptsOpenMetrics(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((range) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return type === 'application/openmetrics-text' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** A counter as prom-client keeps it: its name is rewritten by each OpenMetrics rendering. */
interface RenamableMetric {
  name: string;
  readonly type?: string;
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
  if (options.runtimeMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    registerEventLoopUtilization(registry);
  }

  const getOrCreate = <M extends Metric>(name: string, create: () => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? create();

  // One rendering at a time: the Prometheus text format is rendered by switching the shared
  // registry's format for the duration, which a concurrent OpenMetrics scrape must not see.
  let rendering: Promise<unknown> = Promise.resolve();
  const serially = <T>(render: () => Promise<T>): Promise<T> => {
    const next = rendering.then(render, render);
    rendering = next.catch(() => undefined);
    return next;
  };
  const prometheusText = async (): Promise<string> => {
    // prom-client keeps counters without `_total` and adds it only in OpenMetrics; the
    // Prometheus text format wants the suffix in the name itself, so it is lent for the render.
    const counters = (registry.getMetricsAsArray() as unknown as RenamableMetric[]).filter(
      (metric) => metric.type === 'counter',
    );
    const names = counters.map((counter) => counter.name);
    for (const counter of counters) counter.name = `${counter.name.replace(/_total$/, '')}_total`;
    registry.setContentType(
      Registry.PROMETHEUS_CONTENT_TYPE as typeof Registry.OPENMETRICS_CONTENT_TYPE,
    );
    try {
      return await registry.metrics();
    } finally {
      registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      counters.forEach((counter, i) => (counter.name = names[i] ?? counter.name));
    }
  };

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
    exposition: (accept) =>
      serially(async () =>
        acceptsOpenMetrics(accept)
          ? { contentType: registry.contentType, body: await registry.metrics() }
          : { contentType: Registry.PROMETHEUS_CONTENT_TYPE, body: await prometheusText() },
      ),
  };
}

/**
 * `nodejs_eventloop_utilization_ratio`: the share of time the event loop was busy since the
 * previous scrape (Node's performance.eventLoopUtilization), which prom-client does not
 * collect; lag says a loop is late, utilisation says how close to full it runs.
 */
function registerEventLoopUtilization(
  registry: Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>,
): void {
  let last = performance.eventLoopUtilization();
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Share of time the event loop was busy since the previous scrape (0–1).',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    },
  });
}

/** Exemplar labels of the active span (trace_id, span_id) when it is sampled, else empty. */
export function traceExemplar(): Record<string, string> {
  const context = trace.getActiveSpan()?.spanContext();
  // Bit 0 of the trace flags is "sampled"; an unsampled trace is not in the tracing backend.
  if (!context || (context.traceFlags & 1) === 0) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
