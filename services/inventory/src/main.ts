// Wiring only: config → clients → app and workers → listen → shutdown hooks.
import { catalogTopic, ordersTopic, shipmentsTopic } from '@emporium/contracts';
import {
  createConsumerRunner,
  createFaults,
  createKafka,
  createLifecycle,
  createLogger,
  createMetrics,
  createMongoClient,
  createReadiness,
  ensureTopics,
  getTelemetry,
  kafkaSasl,
  listen,
  pingMongo,
} from '@emporium/platform';
import { buildApp } from './app.js';
import { loadInventoryConfig } from './config.js';
import { ordersHandler } from './events/order-cancelled.handler.js';
import { catalogHandler } from './events/product-updated.handler.js';
import { shipmentsHandler } from './events/shipment-dispatched.handler.js';
import { inventoryMetrics } from './inventory.metrics.js';
import { reservationsRepository } from './repositories/reservations.repository.js';
import { stockRepository } from './repositories/stock.repository.js';

const config = loadInventoryConfig(process.env);
const logger = createLogger({
  service: 'inventory',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'inventory' });
const readiness = createReadiness();
const lifecycle = createLifecycle({
  logger,
  readiness,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
});
lifecycle.listen();

const mongo = createMongoClient({
  url: config.MONGO_URL,
  appName: 'inventory',
  retryWrites: config.MONGO_RETRY_WRITES,
  ...(config.MONGO_TLS_CA_FILE ? { tlsCaFile: config.MONGO_TLS_CA_FILE } : {}),
});
const db = mongo.db(config.MONGO_DATABASE);
const stock = stockRepository(db);
const reservations = reservationsRepository(db, stock);
await stock.ensureIndexes();
await reservations.ensureIndexes();
readiness.register('mongodb', () => pingMongo(mongo));

const sasl = kafkaSasl(config);
const kafka = createKafka({
  clientId: 'inventory',
  brokers: config.KAFKA_BROKERS,
  ssl: config.KAFKA_SSL,
  ...(sasl ? { sasl } : {}),
  logger,
});
// Inventory produces no events, so it needs no producer and no outbox relay.
await ensureTopics(kafka, {
  topics: [catalogTopic, ordersTopic, shipmentsTopic],
  consumerGroups: ['inventory'],
});
const faults = createFaults(config.FAULTS, { metrics });
const business = inventoryMetrics(metrics, stock);
const consumer = createConsumerRunner({ kafka, groupId: 'inventory', metrics, logger })
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
  );

const { app } = buildApp(config, { stock, reservations, metrics, logger, readiness, faults });
const { port } = await listen(app, config.PORT, lifecycle);
await consumer.start();
readiness.register('kafka-consumer', () =>
  consumer.isRunning() ? Promise.resolve() : Promise.reject(new Error('consumer stopped')),
);

lifecycle.onShutdown('consumers', 'inventory consumer', () => consumer.stop());
lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'mongodb', () => mongo.close());
logger.info({ port }, 'inventory listening');
