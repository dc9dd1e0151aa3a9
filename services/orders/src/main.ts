// Wiring only: config → clients → app and workers → listen → shutdown hooks.
import { ordersTopic, paymentsTopic, shipmentsTopic } from '@emporium/contracts';
import {
  createConsumerRunner,
  createEventProducer,
  createFaults,
  createKafka,
  createLifecycle,
  createLogger,
  createMetrics,
  createMongoClient,
  createOutboxRelay,
  createReadiness,
  createUpstreamClient,
  ensureTopics,
  getTelemetry,
  kafkaSasl,
  listen,
  outboxPublisher,
  pingMongo,
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
const logger = createLogger({
  service: 'orders',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'orders' });
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
  appName: 'orders',
  retryWrites: config.MONGO_RETRY_WRITES,
  ...(config.MONGO_TLS_CA_FILE ? { tlsCaFile: config.MONGO_TLS_CA_FILE } : {}),
});
const orders = ordersRepository(mongo.db(config.MONGO_DATABASE));
await orders.ensureIndexes();
readiness.register('mongodb', () => pingMongo(mongo));

const upstream = (name: string, baseUrl: string) =>
  createUpstreamClient({ name, baseUrl, timeoutMs: config.UPSTREAM_TIMEOUT_MS, metrics, logger });
const cart = cartGateway(upstream('cart', config.UPSTREAM_CART_URL));
const catalog = catalogGateway(upstream('catalog', config.UPSTREAM_CATALOG_URL));
const inventory = inventoryGateway(upstream('inventory', config.UPSTREAM_INVENTORY_URL));

const sasl = kafkaSasl(config);
const kafka = createKafka({
  clientId: 'orders',
  brokers: config.KAFKA_BROKERS,
  ssl: config.KAFKA_SSL,
  ...(sasl ? { sasl } : {}),
  logger,
});
await ensureTopics(kafka, {
  topics: [ordersTopic, paymentsTopic, shipmentsTopic],
  consumerGroups: ['orders'],
});
const producer = createEventProducer({ kafka, source: '/emporium/orders', metrics, logger });
await producer.connect();
// Only one replica may relay, or events would be published once per replica. For now every
// replica is the leader (one replica); the platform's kube leader election will drive this.
const isLeader = (): boolean => true;
const relay = createOutboxRelay({
  collections: orders.collection,
  publish: outboxPublisher(producer, [ordersTopic]),
  intervalMs: config.OUTBOX_INTERVAL_MS,
  isLeader,
  metrics,
  logger,
});
const faults = createFaults(config.FAULTS, { metrics });
const saga = { orders, metrics: orderMetrics(metrics) };
const consumer = createConsumerRunner({
  kafka,
  groupId: 'orders',
  metrics,
  logger,
  // Generous: a MongoDB blip or a lost race must not send a saga event to the DLQ.
  maxAttempts: 8,
  backoff: { initialMs: 200, maxMs: 5000 },
})
  .on(paymentsTopic, faults.wrap('handler:payments.v1', paymentsHandler(saga)))
  .on(shipmentsTopic, faults.wrap('handler:shipments.v1', shipmentsHandler(saga)));

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
const { port } = await listen(app, config.PORT, lifecycle);
relay.start();
await consumer.start();
readiness.register('kafka-consumer', () =>
  consumer.isRunning() ? Promise.resolve() : Promise.reject(new Error('consumer stopped')),
);

lifecycle.onShutdown('consumers', 'saga consumer', () => consumer.stop());
lifecycle.onShutdown('workers', 'outbox relay', () => relay.stop());
lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'kafka producer', () => producer.disconnect());
lifecycle.onShutdown('clients', 'mongodb', () => mongo.close());
logger.info({ port }, 'orders listening');
