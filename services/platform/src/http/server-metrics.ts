import type { Request, RequestHandler } from 'express';
import { LATENCY_BUCKETS_SECONDS, traceExemplar, type Metrics } from '../telemetry/metrics.js';

/** The route label of a request no route matched; one value keeps the label bounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Status label of a request whose client went away before the response started: nginx's
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

/** The method label: unknown methods collapse to `_OTHER` (OpenTelemetry HTTP semconv). */
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
 * Records `http_server_request_duration_seconds` and writes one access log line per request.
 * Mounted after the probes, so kubelet and Prometheus traffic stays out of both.
 */
export function observeRequests(metrics: Metrics): RequestHandler {
  const histogram = metrics.histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of inbound HTTP requests, from the first byte read to the response sent.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
  });

  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Taken now, inside the server span's context: the context is gone by 'finish'.
    const exemplarLabels = traceExemplar();
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.headersSent ? String(res.statusCode) : CLIENT_CLOSED_STATUS;
      const route = routeTemplate(req);
      histogram.observe({
        labels: { method: methodLabel(req.method), route, status_code: status },
        value: seconds,
        exemplarLabels,
      });
      req.log.info(
        { method: req.method, route, status_code: Number(status), duration_ms: seconds * 1e3 },
        'request completed',
      );
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
