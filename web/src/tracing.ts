import {
  context,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';

/** The service name the browser's spans carry in Jaeger. */
export const WEB_SERVICE_NAME = 'web';

let tracer: Tracer = trace.getTracer('storefront');

/**
 * Starts the browser's tracing: spans of the page load and of every `fetch` (which then
 * carries `traceparent` to the gateway), exported in batches to the gateway's OTLP intake.
 */
export function startTracing(tracesUrl: string, environment: string): void {
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({
      'service.name': WEB_SERVICE_NAME,
      'deployment.environment.name': environment,
    }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl }), {
        scheduledDelayMillis: 1000,
      }),
    ],
  });
  // The W3C trace context propagator and a stack context manager: enough without zone.js,
  // because each action hands its context to the calls it makes (see `userAction`).
  provider.register();
  const intake = new URL(tracesUrl, window.location.href).href;
  registerInstrumentations({
    instrumentations: [
      new FetchInstrumentation({
        ignoreUrls: [intake],
        clearTimingResources: true,
      }),
      new DocumentLoadInstrumentation(),
    ],
  });
  tracer = trace.getTracer('storefront');
}

/**
 * Runs what a click starts inside a span of its own, the root of its trace: every API call
 * made with the context it is given is that span's child (and the gateway's spans theirs).
 */
export async function userAction<T>(
  name: string,
  run: (parent: Context) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { root: true, attributes: { 'app.action': name } },
    context.active(),
    async (span: Span) => {
      try {
        return await run(trace.setSpan(context.active(), span));
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Runs `call` in `parent` (if given), so the fetch it starts is traced under it. */
export function within<T>(parent: Context | undefined, call: () => T): T {
  return parent ? context.with(parent, call) : call();
}
