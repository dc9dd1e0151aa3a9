import { AppError, errors, PlatformErrorCode, type Logger, type Routes } from '@emporium/platform';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { GatewayMetrics } from '../gateway.metrics.js';
import type { RateLimitsRepository } from '../repositories/rate-limits.repository.js';
import { takeOrRefuse } from './edge.middleware.js';

/** Where the storefront posts its spans (OTLP/HTTP, JSON encoding). */
export const BROWSER_TRACES_PATH = '/otlp/v1/traces';

/** An OTLP/JSON trace export, checked only as far as the gateway reads it. */
const TraceExport = z.object({
  resourceSpans: z.array(z.looseObject({ scopeSpans: z.array(z.looseObject({})).optional() })),
});

/** Options of {@link browserTracesRoutes}. */
export interface BrowserTracesOptions {
  rateLimits: RateLimitsRepository;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * `POST /otlp/v1/traces`: the storefront's spans, passed on to the collector's OTLP/HTTP
 * endpoint, so one trace runs from the shopper's click to the shipment. Anonymous (spans are
 * sent before sign-in too), so it is fenced: a body over BROWSER_TRACES_MAX_BYTES is 413 before
 * it is read, each client IP has a bucket of its own (429), and only JSON shaped like an
 * OTLP export goes on (400).
 */
export function browserTracesRoutes(
  routes: Routes,
  config: Readonly<Config>,
  options: BrowserTracesOptions,
): void {
  const { rateLimits, metrics, logger } = options;
  const target = `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  const maxBytes = config.BROWSER_TRACES_MAX_BYTES;
  // Before the route's body is parsed: an oversize export is refused by its declared length
  // (a chunked one by what arrives, in the route's own JSON limit).
  const fence: RequestHandler = async (req, _res, next) => {
    if (req.path !== BROWSER_TRACES_PATH || req.method !== 'POST') {
      next();
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      throw new AppError(
        PlatformErrorCode.PAYLOAD_TOO_LARGE,
        413,
        `A span export may be at most ${String(maxBytes)} bytes.`,
      );
    }
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    await takeOrRefuse('traces', () => rateLimits.takeForTraces(ip), metrics, logger);
    next();
  };
  routes.use(fence);
  routes.post(
    BROWSER_TRACES_PATH,
    {
      access: 'anonymous',
      summary: 'The storefront’s spans (OTLP/HTTP, JSON), passed on to the collector',
      description: `At most ${String(maxBytes)} bytes (413 above); a bucket per client IP (429 with Retry-After when empty).`,
      body: TraceExport,
      responses: {
        200: z.object({}).loose(),
        400: 'problem',
        413: 'problem',
        429: 'problem',
        503: 'problem',
      },
    },
    async (req, res) => {
      let answer: Response;
      try {
        answer = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(req.body),
          signal: AbortSignal.timeout(3000),
        });
        await answer.arrayBuffer();
      } catch (error) {
        metrics.browserSpanExports.inc({ outcome: 'failed' });
        throw errors.unavailable('The trace collector cannot be reached.', 5, error);
      }
      if (!answer.ok) {
        metrics.browserSpanExports.inc({ outcome: 'failed' });
        req.log.warn({ status: answer.status }, 'the collector refused browser spans');
        throw errors.unavailable(`The trace collector answered ${String(answer.status)}.`, 5);
      }
      metrics.browserSpanExports.inc({ outcome: 'forwarded' });
      res.json({});
    },
  );
}
