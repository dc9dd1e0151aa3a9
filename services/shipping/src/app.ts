import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import type { Config } from './config.js';
import type { ShipmentsRepository } from './repositories/shipments.repository.js';
import { shipmentRoutes } from './routes/shipments.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  shipments: ShipmentsRepository;
}

/** Builds shipping's HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'shipping',
    callers: callersFor(config, 'shipping'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium shipping',
      version: config.SERVICE_VERSION,
      description: 'Shipments of paid orders.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  shipmentRoutes(http.routes, deps.shipments);
  return http;
}
