// Wiring only: config → runtime and clients → app and workers → serve.
import { ordersTopic, paymentsTopic, shipmentsTopic } from '@emporium/contracts';
import {
  createConsumerRunner,
  createServiceRuntime,
  serviceTokensFrom,
  upstreamClients,
} from '@emporium/platform';
import { buildApp } from './app.js';
import { loadOrdersConfig } from './config.js';
import { paymentsHandler, shipmentsHandler } from './events/saga.handler.js';
import { cartGateway } from './gateways/cart.gateway.js';
import { catalogGateway } from './gateways/catalog.gateway.js';
import { inventoryGateway } from './gateways/inventory.gateway.js';
import { orderMetrics } from './order-metrics.js';
import { ordersRepository } from './repositories/orders.repository.js';

const config = loadOrdersConfig(process.env);
const runtime = createServiceRuntime('orders', config);
const { logger, metrics, readiness, faults } = runtime;

const orders = ordersRepository(runtime.mongo(config).db(config.MONGO_DATABASE));
await orders.ensureIndexes();

// Every call carries orders' own workload token, unless it carries the user's (cart's).
const upstream = upstreamClients(config, {
  metrics,
  logger,
  tokens: serviceTokensFrom(config.SERVICE_TOKEN_DIR),
});
const cart = cartGateway(upstream('cart', config.UPSTREAM_CART_URL));
const catalog = catalogGateway(upstream('catalog', config.UPSTREAM_CATALOG_URL));
const inventory = inventoryGateway(upstream('inventory', config.UPSTREAM_INVENTORY_URL));

const kafka = await runtime.kafka(config, {
  produces: [ordersTopic],
  consumes: [paymentsTopic, shipmentsTopic],
});
runtime.relay({
  collections: orders.collection,
  producer: await runtime.producer(kafka),
  topics: [ordersTopic],
  intervalMs: config.OUTBOX_INTERVAL_MS,
  leaderElection: config,
  mutex: orders.mutex,
});
const saga = { orders, metrics: orderMetrics(metrics) };
runtime.consumer(
  createConsumerRunner({
    kafka,
    groupId: config.KAFKA_GROUP_ID ?? 'orders',
    metrics,
    logger,
  })
    .on(paymentsTopic, faults.wrap('handler:payments.v1', paymentsHandler(saga)))
    .on(shipmentsTopic, faults.wrap('handler:shipments.v1', shipmentsHandler(saga))),
);

const { app } = buildApp(config, {
  orders,
  cart,
  catalog,
  inventory,
  metrics,
  logger,
  readiness,
  faults,
});
await runtime.serve(app, config.PORT);
