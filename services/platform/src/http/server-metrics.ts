import { trace } from '@opentelemetry/api';
import { ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { LATENCY_BUCKETS_SECONDS, traceExemplar, type Metrics } from '../telemetry/metrics.js';

/** The `http_route` label of a request no route matched; one value keeps the label bounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * `http_response_status_code` label of a request whose client went away before the response started: nginx's
 * "client closed request", so aborted requests still count toward latency.
 */
export const CLIENT_CLOSED_STATUS = '499';

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
]);

/** The `http_request_method` label: unknown methods collapse to `_OTHER` (OpenTelemetry HTTP semconv). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** The route template that served a request (`/products/:id`), or {@link UNMATCHED_ROUTE}. */
export function routeTemplate(req: Request): string {
  // express types req.route as any; the router sets it to the matched Route, whose path is
  // the template as registered (a RegExp only for routes registered with one).
  const route = req.route as { path?: unknown } | undefined;
  if (route === undefined) return UNMATCHED_ROUTE;
  return typeof route.path === 'string' ? `${req.baseUrl}${route.path}` : 'regexp';
}

/**
 * Records `http_server_request_duration_seconds` (labels `http_request_method`, `http_route`,
 * `http_response_status_code`: the semconv attributes `http.request.method`, `http.route`,
 * `http.response.status_code` in Prometheus's underscore form), writes one access log line per request and
 * names the HTTP server span after its route (`GET /products/:id`, with `http.route`), which
 * the HTTP instrumentation cannot know and the express instrumentation's span per middleware
 * cost more than the request itself. Mounted after the probes, so kubelet and Prometheus
 * traffic stays out of all three.
 */
export function observeRequests(metrics: Metrics, logger: Logger): RequestHandler {
  const histogram = metrics.histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of inbound HTTP requests, from the first byte read to the response sent.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
  });

  // The access line has fixed keys and no secret among them: its own child without redaction,
  // which walked every line's fields for the base logger's wildcard paths (11 % of catalog's
  // CPU in bench/profiles/catalog-telemetry-off.md).
  const accessLog = logger.child({}, { redact: [] });

  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Taken now, inside the server span's context: the context is gone by 'finish'.
    const exemplarLabels = traceExemplar();
    const span = trace.getActiveSpan();
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.headersSent ? String(res.statusCode) : CLIENT_CLOSED_STATUS;
      const route = routeTemplate(req);
      histogram.observe({
        labels: {
          http_request_method: methodLabel(req.method),
          http_route: route,
          http_response_status_code: status,
        },
        value: seconds,
        exemplarLabels,
      });
      // Before the instrumentation ends the span on 'close'. Semconv: an unmatched path keeps
      // the bare method as the span's name and no http.route; an unknown method reads `HTTP`.
      if (route !== UNMATCHED_ROUTE && span?.isRecording()) {
        span.setAttribute(ATTR_HTTP_ROUTE, route);
        span.updateName(`${KNOWN_METHODS.has(req.method) ? req.method : 'HTTP'} ${route}`);
      }
      // request_id as a field: no child logger per request.
      accessLog.info(
        {
          request_id: req.id,
          method: req.method,
          route,
          status_code: Number(status),
          duration_ms: seconds * 1e3,
        },
        'request completed',
      );
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
