import { type AppDeps, callersFor, createHttpApp, type HttpApp } from '@emporium/platform';
import type { Config } from './config.js';
import type { CartGateway } from './gateways/cart.gateway.js';
import type { CatalogGateway } from './gateways/catalog.gateway.js';
import type { InventoryGateway } from './gateways/inventory.gateway.js';
import { orderMetrics } from './order-metrics.js';
import type { OrdersRepository } from './repositories/orders.repository.js';
import { orderRoutes } from './routes/orders.routes.js';
import { placeOrderUseCase } from './use-cases/place-order.use-case.js';

/** What the app needs from the outside world; tests pass real clients. */
export interface Deps extends AppDeps {
  orders: OrdersRepository;
  cart: CartGateway;
  catalog: CatalogGateway;
  inventory: InventoryGateway;
}

/** Builds orders' HTTP app (never listens). */
export function buildApp(config: Readonly<Config>, deps: Deps): HttpApp {
  const http = createHttpApp({
    service: 'orders',
    callers: callersFor(config, 'orders'),
    version: config.SERVICE_VERSION,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimit: config.HTTP_BODY_LIMIT,
    openapi: {
      title: 'Emporium orders',
      version: config.SERVICE_VERSION,
      description:
        'Order placement and the order saga. Callers send the user’s bearer token (the ' +
        'gateway passes it on), verified here.',
    },
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  const placeOrder = placeOrderUseCase({
    orders: deps.orders,
    cart: deps.cart,
    catalog: deps.catalog,
    inventory: deps.inventory,
    metrics: orderMetrics(deps.metrics),
    logger: deps.logger,
  });
  orderRoutes(http.routes, deps.orders, placeOrder);
  return http;
}
