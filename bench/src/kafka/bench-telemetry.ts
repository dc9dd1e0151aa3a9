import { startTelemetry, type Telemetry } from '@emporium/platform';

/**
 * Tracing on and exported to the bench's collector as in a service, with no library
 * instrumentation: the bench's Kafka and outbox sides make their own spans.
 */
export function startBenchTelemetry(serviceName: string): Telemetry {
  return startTelemetry({
    enabled: true,
    serviceName,
    serviceVersion: '0.0.0-bench',
    environment: 'bench',
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318',
    sampleRatio: 1,
    instrumentations: [],
  });
}
