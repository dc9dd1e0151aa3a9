import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import { catalogMetrics } from './catalog.metrics.js';
import type { Config } from './config.js';
import type { ProductCache } from './repositories/product-cache.repository.js';
import type { ProductsRepository } from './repositories/products.repository.js';
import { productRoutes } from './routes/products.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  products: ProductsRepository;
  cache: ProductCache;
}

/** Builds catalog's HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'catalog',
    callers: callersFor(config, 'catalog'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium catalog',
      version: config.SERVICE_VERSION,
      description:
        'Products of the store. Reads are open; writes need the bearer token of a user with ' +
        'the admin role, verified here.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  productRoutes(http.routes, {
    products: deps.products,
    cache: deps.cache,
    catalogMetrics: catalogMetrics(deps.metrics, () => deps.products.count(), deps.logger),
  });
  return http;
}
