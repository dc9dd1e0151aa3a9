import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import { cartMetrics } from './cart.metrics.js';
import type { Config } from './config.js';
import type { CatalogGateway } from './gateways/catalog.gateway.js';
import type { CartsRepository } from './repositories/carts.repository.js';
import { cartRoutes } from './routes/carts.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  carts: CartsRepository;
  catalog: CatalogGateway;
}

/** Builds cart's HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'cart',
    callers: callersFor(config, 'cart'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium cart',
      version: config.SERVICE_VERSION,
      description:
        'Per-user carts, priced by the catalog. Callers send the user’s bearer token, verified ' +
        'here: a user may touch only their own cart unless an admin.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  cartRoutes(http.routes, {
    carts: deps.carts,
    catalog: deps.catalog,
    metrics: cartMetrics(deps.metrics),
    defaultCurrency: config.CART_DEFAULT_CURRENCY,
  });
  return http;
}
