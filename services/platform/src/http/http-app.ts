import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
} from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Faults } from '../faults/faults.js';
import { AppError, PlatformErrorCode, errors } from '../errors.js';
import type { Metrics } from '../telemetry/metrics.js';
import { createOpenApiDocument, type OpenApiDocument, type OpenApiInfo } from './openapi.js';
import { sendProblem, toAppError } from './problem.js';
import { createReadiness, type Readiness } from './readiness.js';
import { requestContext } from './request-context.js';
import type { CallerVerifier } from '../auth/verifiers.js';
import { authenticate, authorizeCaller } from './identity.js';
import { createRouteRegistry, type Authorize, type Routes } from './route-registry.js';
import { observeRequests } from './server-metrics.js';

/**
 * What every service's `buildApp(config, deps)` takes besides its own clients: the runtime's
 * metrics and logger, and its readiness and faults (tests may leave those out).
 */
export interface AppDeps {
  metrics: Metrics;
  logger: Logger;
  readiness?: Readiness;
  faults?: Faults;
}

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** The service name, e.g. `orders`. */
  service: string;
  version: string;
  metrics: Metrics;
  logger: Logger;
  /** The readiness registry `/readyz` runs; a fresh one when omitted. */
  readiness?: Readiness;
  /** The JSON body limit, in body-parser's notation or bytes. */
  bodyLimit?: string | number;
  /** Seconds a client should wait after a 503 from `/readyz`. */
  retryAfterSeconds?: number;
  /** express's `trust proxy` setting, for services that read `req.ip` behind Envoy/an ALB. */
  trustProxy?: boolean | number | string;
  openapi: OpenApiInfo;
  /** Operator fault rules applied to every typed route (`route:<METHOD> <path>`). */
  faults?: Faults;
  /**
   * Who calls: every bearer token is verified with it, and every route then declares its
   * `access`, enforced by the platform's own rules unless `authorize` replaces them.
   */
  callers?: CallerVerifier;
  /** Enforces the `access` every route then declares (the gateway's own edge rules). */
  authorize?: Authorize;
}

/** The app and the means to add routes to it. */
export interface HttpApp {
  /** The express app; never listening: `main.ts` calls `http.createServer(app)`. */
  app: Express;
  /** Typed, validated, documented routes; mounted before the 404 and error handlers. */
  routes: Routes;
  readiness: Readiness;
  openapi: OpenApiDocument;
}

/** The path of the request without its query string, as the problem's `instance`. */
function instanceOf(req: Request): string {
  return req.originalUrl.split('?', 1)[0] ?? req.originalUrl;
}

/**
 * Builds a service's express app: request ids, probes, metrics, the OpenAPI document, typed
 * routes, and RFC 9457 problems for every error. Routes added later through `routes` still
 * land before the 404 and error handlers, because their router is mounted here.
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { metrics, logger } = options;
  const readiness = options.readiness ?? createReadiness();
  const retryAfter = String(options.retryAfterSeconds ?? 5);
  const openapi = createOpenApiDocument(options.openapi);
  const authorize = options.authorize ?? (options.callers ? authorizeCaller : undefined);
  const registry = createRouteRegistry({
    openapi,
    bodyLimit: options.bodyLimit ?? '100kb',
    ...(options.faults ? { faults: options.faults } : {}),
    ...(authorize ? { authorize } : {}),
  });

  const app = express();
  app.disable('x-powered-by');
  // express would hash every response body for a weak ETag that no client of these JSON APIs
  // sends back (If-None-Match); it showed in the profile of a cached read.
  app.set('etag', false);
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);

  // The browser-facing security headers (nosniff, HSTS, a deny-all CSP and frame policy for
  // JSON that is never a page, no referrer): cheap on every answer, problems included.
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      frameguard: { action: 'deny' },
    }),
  );
  const httpLogger = logger.child({ component: 'http' });
  app.use(requestContext(app, httpLogger));
  // While draining, ask keep-alive clients to reconnect, which lands them on another pod.
  const closeWhenDraining: RequestHandler = (_req, res, next) => {
    if (readiness.isShuttingDown()) res.set('connection', 'close');
    next();
  };
  app.use(closeWhenDraining);

  // Liveness never looks at dependencies: a database outage must not restart every pod.
  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok', service: options.service, version: options.version });
  });

  app.get('/readyz', async (req, res) => {
    const report = await readiness.check();
    if (report.ready) {
      res.json({ status: 'ok', checks: report.checks });
      return;
    }
    // Sent here rather than thrown: a failing probe is a state, not a request error to log.
    if (report.shuttingDown) {
      const error = new AppError(
        PlatformErrorCode.SHUTTING_DOWN,
        503,
        'The service is shutting down.',
        { headers: { 'retry-after': retryAfter } },
      );
      sendProblem(res, error, instanceOf(req));
      return;
    }
    req.log.warn({ checks: report.checks, failures: report.failures }, 'not ready');
    const failing = Object.keys(report.checks).filter((name) => report.checks[name] !== 'ok');
    const error = new AppError(
      PlatformErrorCode.UNAVAILABLE,
      503,
      `Not ready: ${failing.join(', ')} failing.`,
      { headers: { 'retry-after': retryAfter }, extensions: { checks: report.checks, failing } },
    );
    sendProblem(res, error, instanceOf(req));
  });

  app.get('/metrics', async (req, res) => {
    const { contentType, body } = await metrics.exposition(req.headers.accept);
    res.type(contentType).send(body);
  });

  app.get('/openapi.json', (_req, res) => {
    res.json(openapi.document());
  });

  app.use(observeRequests(metrics, httpLogger));
  if (options.callers) app.use(authenticate(options.callers, metrics));
  app.use(registry.router);
  app.use(registry.methodNotAllowed);

  const notFound: RequestHandler = () => {
    throw errors.notFound('No route matches this path.');
  };
  app.use(notFound);

  const handleError: ErrorRequestHandler = (err: unknown, req, res, next) => {
    const error = toAppError(err);
    if (error.status >= 500) {
      req.log.error({ err, code: error.code, status: error.status }, 'request failed');
    } else {
      req.log.debug({ code: error.code, status: error.status }, error.message);
    }
    // Too late for a problem document: express destroys the socket, the client sees a reset.
    if (res.headersSent) {
      next(err);
      return;
    }
    sendProblem(res, error, instanceOf(req));
  };
  app.use(handleError);

  return { app, routes: registry.routes, readiness, openapi };
}
