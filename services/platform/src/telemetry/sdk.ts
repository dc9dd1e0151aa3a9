import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { UrlQueryRedactor } from './url-redaction.js';

/** Settings of {@link startTelemetry}; the preload builds them from the environment. */
export interface TelemetryOptions {
  /** false: no SDK, no spans, no export (the benchmark's baseline). */
  enabled: boolean;
  serviceName: string;
  serviceVersion: string;
  /** deployment.environment.name, e.g. `local`, `kind`, `production`. */
  environment: string;
  /** OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318`; traces go to `/v1/traces`. */
  otlpEndpoint: string;
  /** Fraction of new traces sampled, 0–1; a sampled parent is always followed. */
  sampleRatio: number;
  /** k8s.pod.name and k8s.namespace.name, when running in Kubernetes. */
  podName?: string | undefined;
  namespace?: string | undefined;
  /** How long a finished span may wait in the batch before export, in ms. */
  exportDelayMs?: number;
  /** Replaces the default instrumentations (tests pass [] to see only their own spans). */
  instrumentations?: Instrumentation[];
}

/** A started (or disabled) tracing pipeline. */
export interface Telemetry {
  readonly enabled: boolean;
  /** Exports every finished span now. */
  flush(): Promise<void>;
  /** Flushes and stops the SDK; later spans are dropped. */
  shutdown(): Promise<void>;
}

/**
 * The modules {@link defaultInstrumentations} patch; the ESM loader hook wraps these and no
 * others (keep the two in step: a module missing here keeps its named ESM imports unpatched).
 */
export const INSTRUMENTED_MODULES = ['http', 'https', 'ioredis', 'mongodb'] as const;

/**
 * The instrumentations Emporium turns on, chosen one by one rather than the auto bundle:
 * inbound and outbound HTTP (`node:http`), ioredis and the MongoDB driver. No express
 * instrumentation: it made a span per middleware (seven for a cached product read), which cost
 * more CPU than the request; the platform's request observer names the server span after its
 * route instead (`GET /products/:id`, with `http.route`).
 *
 * Kafka and fetch keep the platform's own spans rather than the contrib instrumentations
 * (@opentelemetry/instrumentation-kafkajs, -undici), which do not give the same trace:
 * - kafkajs: it wraps `producer.send` and `eachMessage`, so its `send`/`process` spans would
 *   nest inside (or, with ours removed, replace) the platform's, and its injected traceparent
 *   overrides ours in the headers. It cannot see the CloudEvents id and type, the handler's
 *   retries and attempts, the dead-letter step or the idempotency skip; and its send span only
 *   ends when kafkajs's send settles, which the idempotent producer (retrying without end)
 *   may never do during an outage, where the platform's ends at the send timeout.
 * - undici: a second CLIENT span per attempt under the upstream client's (named only `GET`,
 *   no `peer.service`, `url.template` or resend count) that injects its own traceparent into
 *   a request already carrying the client span's, with the query as sent in `url.full` and
 *   `url.query`.
 */
export function defaultInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      // Probes, scrapes and the storefront’s span exports would drown the traces that matter.
      ignoreIncomingRequestHook: (request) =>
        /^\/(livez|readyz|metrics|otlp\/v1\/traces)(\?|$)/.test(request.url ?? ''),
    }),
    new IORedisInstrumentation({ requireParentSpan: true }),
    new MongoDBInstrumentation({ requireParentSpan: true }),
  ];
}

const disabled: Telemetry = {
  enabled: false,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** Starts OpenTelemetry tracing with OTLP export, or a no-op when disabled. */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (!options.enabled) return disabled;
  const processor: SpanProcessor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }),
    { scheduledDelayMillis: options.exportDelayMs ?? 1000 },
  );
  // The trace SDK alone, not @opentelemetry/sdk-node: that one also loads the metrics and logs
  // SDKs and every OTLP exporter (gRPC among them), about 40 MiB per process for nothing here.
  // Metrics are prom-client's (scraped), logs are pino's (stdout): the SDK only traces.
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
      'deployment.environment.name': options.environment,
      ...(options.podName ? { 'k8s.pod.name': options.podName } : {}),
      ...(options.namespace ? { 'k8s.namespace.name': options.namespace } : {}),
    }),
    // The redactor first: it rewrites url.full before any processor sees the span end.
    spanProcessors: [new UrlQueryRedactor(), processor],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
  });
  // The global tracer provider, AsyncLocalStorage context and W3C trace context propagation.
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: options.instrumentations ?? defaultInstrumentations(),
  });
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    flush: () => processor.forceFlush(),
    shutdown: () =>
      (stopped ??= (async () => {
        unregister();
        await provider.shutdown();
      })()),
  };
}
