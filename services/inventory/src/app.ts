import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import type { Config } from './config.js';
import { inventoryMetrics } from './inventory.metrics.js';
import type { ReservationsRepository } from './repositories/reservations.repository.js';
import type { StockRepository } from './repositories/stock.repository.js';
import { reservationRoutes } from './routes/reservations.routes.js';
import { stockRoutes } from './routes/stock.routes.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  stock: StockRepository;
  reservations: ReservationsRepository;
}

/** Builds inventory's HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'inventory',
    callers: callersFor(config, 'inventory'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium inventory',
      version: config.SERVICE_VERSION,
      description: 'Stock per sku and all-or-none reservations of orders.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  const metrics = inventoryMetrics(deps.metrics, deps.stock);
  stockRoutes(http.routes, deps.stock);
  reservationRoutes(http.routes, deps.reservations, metrics);
  return http;
}
