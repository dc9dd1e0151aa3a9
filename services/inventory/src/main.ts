// Wiring only: config → runtime and clients → app and workers → serve.
import { catalogTopic, ordersTopic, shipmentsTopic } from '@emporium/contracts';
import { createConsumerRunner, createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadInventoryConfig } from './config.js';
import { ordersHandler } from './events/order-cancelled.handler.js';
import { catalogHandler } from './events/product-updated.handler.js';
import { shipmentsHandler } from './events/shipment-dispatched.handler.js';
import { inventoryMetrics } from './inventory.metrics.js';
import { reservationsRepository } from './repositories/reservations.repository.js';
import { stockRepository } from './repositories/stock.repository.js';

const config = loadInventoryConfig(process.env);
const runtime = createServiceRuntime('inventory', config);
const { logger, metrics, readiness, faults } = runtime;

const db = runtime.mongo(config).db(config.MONGO_DATABASE);
const stock = stockRepository(db);
const reservations = reservationsRepository(db, stock);
await stock.ensureIndexes();
await reservations.ensureIndexes();

// Inventory produces no events, so it needs no producer and no outbox relay.
const kafka = await runtime.kafka(config, {
  consumes: [catalogTopic, ordersTopic, shipmentsTopic],
});
const business = inventoryMetrics(metrics, stock);
runtime.consumer(
  createConsumerRunner({ kafka, groupId: 'inventory', metrics, logger })
    .on(
      catalogTopic,
      faults.wrap(
        'handler:catalog.v1',
        catalogHandler(stock, config.INVENTORY_INITIAL_STOCK, business),
      ),
    )
    .on(ordersTopic, faults.wrap('handler:orders.v1', ordersHandler(reservations, business)))
    .on(
      shipmentsTopic,
      faults.wrap('handler:shipments.v1', shipmentsHandler(reservations, business)),
    ),
);

const { app } = buildApp(config, { stock, reservations, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
