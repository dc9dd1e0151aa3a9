import { createHttpApp, type HttpApp, type AppDeps } from '@emporium/platform';
import { jwtVerifier, type JwtVerifier } from './auth/jwt-verifier.js';
import type { Config } from './config.js';
import type { DevIssuer } from './dev-issuer/dev-issuer.js';
import { gatewayMetrics } from './gateway.metrics.js';
import type { Upstreams } from './gateways/upstreams.gateway.js';
import type { RateLimitsRepository } from './repositories/rate-limits.repository.js';
import { browserTracesRoutes } from './routes/browser-traces.routes.js';
import { cartRoutes } from './routes/cart.routes.js';
import { devIssuerRoutes } from './routes/dev-issuer.routes.js';
import { authorizeRoute, edgeMiddleware } from './routes/edge.middleware.js';
import { orderRoutes } from './routes/orders.routes.js';
import { productRoutes } from './routes/products.routes.js';
import { browserTracesEnabled, webRoutes } from './routes/web.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  upstreams: Upstreams;
  rateLimits: RateLimitsRepository;
  /** Present only when DEV_ISSUER_ENABLED: serves /dev/token and the JWKS. */
  devIssuer?: DevIssuer;
  /** Defaults to a verifier over config's JWT_* variables. */
  verifier?: JwtVerifier;
}

/** Builds the gateway's HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const metrics = gatewayMetrics(deps.metrics);
  const http = createHttpApp({
    service: 'gateway',
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    authorize: authorizeRoute(metrics),
    openapi: {
      title: 'Emporium gateway',
      version: config.SERVICE_VERSION,
      description:
        'The public API of the store. Send `Authorization: Bearer <JWT>`; catalog browsing ' +
        '(`GET /api/products…`) is open to anonymous callers. Limits per user and per client ' +
        'IP answer 429 with Retry-After.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  const verifier =
    deps.verifier ??
    jwtVerifier({
      jwksUrl: config.JWT_JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      algorithms: config.JWT_ALGORITHMS,
      ...(config.JWT_TOKEN_USE ? { tokenUse: config.JWT_TOKEN_USE } : {}),
    });
  webRoutes(http.routes, config);
  http.routes.use(
    ...edgeMiddleware({ verifier, rateLimits: deps.rateLimits, metrics, logger: deps.logger }),
  );
  if (browserTracesEnabled(config)) {
    browserTracesRoutes(http.routes, config, {
      rateLimits: deps.rateLimits,
      metrics,
      logger: deps.logger,
    });
  }
  if (deps.devIssuer) devIssuerRoutes(http.routes, deps.devIssuer);
  productRoutes(http.routes, deps.upstreams, metrics);
  cartRoutes(http.routes, deps.upstreams);
  orderRoutes(http.routes, deps.upstreams);
  return http;
}
